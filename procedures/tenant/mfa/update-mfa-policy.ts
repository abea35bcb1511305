import { LockMode } from '@mikro-orm/core';
import { z } from 'zod';
import { OrganizationSchema } from '../../../entities/organization.js';
import { ApiError } from '../../../server/errors.js';
import { audit, MFA_SETUP, organizationCacheKeys } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext } from '../audit-context.js';
import { MfaPolicyChange, MfaPolicyOutput, mfaPolicyOutput } from './policy.js';

/**
 * PUT /api/user/organizations/{organizationId}/mfa: require (or stop requiring) a second factor of
 * every member. Whoever turns it on must have one themselves, so that nobody locks themselves out of
 * the setting. Every cached membership of the organization is dropped afterwards: they carry the policy.
 */
export const updateMfaPolicy = tenantProcedure
  .meta({
    openapi: {
      method: 'PUT',
      path: '/user/organizations/{organizationId}/mfa',
      tags: ['security'],
      summary: 'Require MFA of members',
    },
    message: 'MFA policy updated successfully',
    scopes: ['organizations:write'],
    permission: 'organization:manage-security',
  })
  .input(MfaPolicyChange.extend({ organizationId: z.string() }))
  .output(MfaPolicyOutput)
  .mutation(async ({ ctx, input }) => {
    if (input.required && !ctx.membership.mfa.compliant) {
      throw new ApiError(
        'MFA_REQUIRED',
        'Set up two-factor authentication or a passkey on your own account before requiring it of members',
        { ...MFA_SETUP },
      );
    }
    const now = ctx.services.now();
    const { policy, cached } = await ctx.em.transactional(async (em) => {
      const organization = await em.findOneOrFail(
        OrganizationSchema,
        { id: ctx.organization.id },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      const previous = mfaPolicyOutput(organization);
      if (input.required && !organization.mfaRequired) organization.mfaRequiredSince = now;
      if (!input.required) organization.mfaRequiredSince = null;
      organization.mfaRequired = input.required;
      organization.mfaGracePeriodDays = input.gracePeriodDays ?? organization.mfaGracePeriodDays;
      organization.updatedAt = now;
      const policy = mfaPolicyOutput(organization);
      audit(
        em,
        auditContext(ctx),
        {
          action: 'organization.mfa_policy_updated',
          targetType: 'organization',
          targetId: organization.id,
          metadata: { required: policy.required, gracePeriodDays: policy.gracePeriodDays, previous },
        },
        now,
      );
      await em.flush();
      return { policy, cached: await organizationCacheKeys(em, organization.id) };
    });
    await ctx.services.credentialCache.forget(cached);
    return policy;
  });
