import { z } from 'zod';
import { OrganizationSchema } from '../../../entities/organization.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { MfaPolicyOutput, mfaPolicyOutput } from './policy.js';

/** GET /api/user/organizations/{organizationId}/mfa: whether members must have a second factor. */
export const getMfaPolicy = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/mfa',
      tags: ['security'],
      summary: 'The organization’s MFA policy',
    },
    message: 'MFA policy fetched successfully',
    scopes: ['organizations:read'],
    permission: 'organization:manage-security',
  })
  .input(z.object({ organizationId: z.string() }))
  .output(MfaPolicyOutput)
  .query(async ({ ctx }) =>
    mfaPolicyOutput(
      await ctx.em.findOneOrFail(
        OrganizationSchema,
        { id: ctx.organization.id },
        { fields: ['mfaRequired', 'mfaGracePeriodDays', 'mfaRequiredSince'] },
      ),
    ),
  );
