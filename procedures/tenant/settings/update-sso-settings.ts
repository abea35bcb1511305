import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { SsoConnectionSchema, SsoDomainSchema, type SsoConnection } from '../../../entities/sso.js';
import { randomToken } from '../../../server/crypto.js';
import { ApiError } from '../../../server/errors.js';
import { newId } from '../../../server/ids.js';
import { audit, organizationCacheKeys } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext } from '../audit-context.js';
import { emailDomain, loadSsoSettings, lockoutRefusal, SsoSettingsOutput, ssoSettingsOutput } from './sso.js';
import { planSsoChanges, SsoSettingsChange } from './sso-changes.js';

const COMPARED = [
  'name',
  'defaultRole',
  'required',
  'allowIdpInitiated',
  'oidcIssuer',
  'oidcClientId',
  'samlIdpEntityId',
  'samlSsoUrl',
  'samlCertificates',
] as const;

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
 * - A new domain gets a fresh verification token and starts unverified; a kept domain keeps its token
 *   and verification, even when it moves to another connection; a removed one loses both.
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

      const created: { id: string; name: string; type: string }[] = [];
      const updated: { id: string; changed: string[] }[] = [];
      const connectionOf = new Map<string, SsoConnection>();
      for (const plan of plans) {
        const before = new Set(
          current.domains.filter((d) => d.connectionId === plan.existing?.id).map((d) => d.domain),
        );
        const domainsChanged = plan.domains.length !== before.size || plan.domains.some((d) => !before.has(d));
        let connection = plan.existing;
        if (connection) {
          const previous = connection;
          const changed: string[] = COMPARED.filter(
            (key) => JSON.stringify(previous[key]) !== JSON.stringify(plan.fields[key]),
          );
          if (plan.clientSecret !== null) changed.push('oidcClientSecret');
          if (domainsChanged) changed.push('domains');
          Object.assign(connection, plan.fields);
          if (plan.clientSecret !== null) connection.oidcClientSecret = encrypter.encrypt(plan.clientSecret);
          if (changed.length > 0) {
            connection.updatedAt = now;
            updated.push({ id: connection.id, changed });
          }
        } else {
          connection = em.create(SsoConnectionSchema, {
            id: newId(),
            organizationId,
            ...plan.fields,
            oidcClientSecret: plan.clientSecret === null ? null : encrypter.encrypt(plan.clientSecret),
            createdAt: now,
            updatedAt: now,
          });
          created.push({ id: connection.id, name: connection.name, type: connection.type });
        }
        for (const domain of plan.domains) connectionOf.set(domain, connection);
      }
      const kept = new Set(plans.map((p) => p.existing?.id));
      const deleted = current.connections.filter((c) => !kept.has(c.id));
      for (const connection of deleted) em.remove(connection);

      const domainsRemoved: string[] = [];
      for (const row of current.domains) {
        const target = connectionOf.get(row.domain);
        if (!target) {
          em.remove(row);
          domainsRemoved.push(row.domain);
        } else {
          row.connectionId = target.id;
        }
      }
      const known = new Set(current.domains.map((d) => d.domain));
      const domainsAdded = [...connectionOf.keys()].filter((domain) => !known.has(domain));
      for (const domain of domainsAdded) {
        em.create(SsoDomainSchema, {
          id: newId(),
          organizationId,
          connectionId: connectionOf.get(domain)?.id ?? null,
          domain,
          verificationToken: randomToken(24),
          verifiedAt: null,
          lastCheckedAt: null,
          createdAt: now,
        });
      }

      // Only a kept, verified domain can shut anyone out at once: new ones start unverified.
      const callerDomain = emailDomain(ctx.principal.email);
      const guarding = connectionOf.get(callerDomain);
      const verified = current.domains.some((d) => d.domain === callerDomain && d.verifiedAt !== null);
      if (guarding?.required && verified && ctx.principal.ssoOrganizationId !== organizationId) {
        throw lockoutRefusal(config.baseUrl, guarding.id, 'sign in through it (meta.signInUrl), then require it');
      }

      const anything = created.length + updated.length + deleted.length + domainsAdded.length + domainsRemoved.length;
      if (anything > 0) {
        audit(
          em,
          auditContext(ctx),
          {
            action: 'organization.sso_updated',
            targetType: 'organization',
            targetId: organizationId,
            metadata: {
              created,
              updated,
              deleted: deleted.map((c) => ({ id: c.id, name: c.name, type: c.type })),
              domainsAdded,
              domainsRemoved,
            },
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
