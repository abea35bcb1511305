import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { SsoConnectionSchema, type SsoConnection } from '../../../entities/sso.js';
import { ApiError } from '../../../server/errors.js';
import { audit, organizationCacheKeys } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext } from '../audit-context.js';
import { emailDomain } from '../../shared/email-domain.js';
import { loadSsoSettings, lockoutRefusal, SsoSettingsOutput, ssoSettingsOutput } from './sso.js';
import { applySsoPlans } from './sso-apply.js';
import { planSsoChanges, SsoSettingsChange } from './sso-changes.js';

/** Ids of the PUT that name no connection of the organization: TENANT_VIOLATION or NOT_FOUND, naming the field. */
async function assertOwnConnections(em: EntityManager, ids: (string | undefined)[], own: Map<string, SsoConnection>) {
  const index = ids.findIndex((id) => id !== undefined && !own.has(id));
  if (index < 0) return;
  const field = `connections.${index}.id`;
  if (await em.count(SsoConnectionSchema, { id: ids[index] })) {
    throw new ApiError('TENANT_VIOLATION', 'This SSO connection belongs to another organization', { field });
  }
  throw new ApiError('NOT_FOUND', 'No SSO connection with this id in this organization', { field });
}

/**
 * PUT /api/user/organizations/{organizationId}/settings/sso: the whole set of connections (see
 * sso-changes.ts), in one transaction under a lock of the organization.
 *
 * - Connections and domains are written by sso-apply.ts: a kept domain keeps its token and
 *   verification, a new one starts unverified, a removed one loses both.
 * - A change after which the policy would shut the caller out is refused (SSO_REQUIRED, `reason`
 *   would-lock-you-out): they must sign in through the organization's SSO first.
 * - The audit entry names what changed, never a secret; the organization's cached memberships are
 *   dropped, since they carry the policy.
 */
export const updateSsoSettings = tenantProcedure
  .meta({
    openapi: {
      method: 'PUT',
      path: '/user/organizations/{organizationId}/settings/sso',
      tags: ['sso'],
      summary: 'Set the SSO connections and domains',
    },
    message: 'SSO settings updated successfully',
    scopes: ['organizations:write'],
    permission: 'organization:manage-security',
    errors: ['NOT_FOUND', 'TENANT_VIOLATION'],
  })
  .input(SsoSettingsChange.extend({ organizationId: z.string() }))
  .output(SsoSettingsOutput)
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const { config, encrypter } = ctx.services;
    const organizationId = ctx.organization.id;
    const { settings, cached } = await ctx.em.transactional(async (em) => {
      await em
        .getConnection()
        .execute(
          'select id from organizations where id = ? for update',
          [organizationId],
          'all',
          em.getTransactionContext(),
        );
      const current = await loadSsoSettings(em, organizationId);
      const own = new Map(current.connections.map((c) => [c.id, c]));
      await assertOwnConnections(
        em,
        input.connections.map((c) => c.id),
        own,
      );
      const plans = planSsoChanges(input.connections, own, { allowHttp: config.ssoAllowHttp, now });

      const { connectionOf, summary } = applySsoPlans(em, {
        organizationId,
        current,
        plans,
        encrypter,
        now,
      });

      // Only a kept, verified domain can shut anyone out at once: new ones start unverified.
      const callerDomain = emailDomain(ctx.principal.email);
      const guarding = connectionOf.get(callerDomain);
      const verified = current.domains.some((d) => d.domain === callerDomain && d.verifiedAt !== null);
      if (guarding?.required && verified && ctx.principal.ssoOrganizationId !== organizationId) {
        throw lockoutRefusal(config.baseUrl, guarding.id, 'sign in through it (meta.signInUrl), then require it');
      }

      if (Object.values(summary).some((list) => list.length > 0)) {
        audit(
          em,
          auditContext(ctx),
          {
            action: 'organization.sso_updated',
            targetType: 'organization',
            targetId: organizationId,
            metadata: { ...summary },
          },
          now,
        );
      }
      await em.flush();
      return {
        settings: ssoSettingsOutput(config.baseUrl, await loadSsoSettings(em, organizationId)),
        cached: await organizationCacheKeys(em, organizationId),
      };
    });
    await ctx.services.credentialCache.forget(cached);
    return settings;
  });
