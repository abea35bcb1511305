import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { SsoConnectionSchema, SsoDomainSchema } from '../../../entities/sso.js';
import { ApiError } from '../../../server/errors.js';
import { audit, organizationCacheKeys } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { emailDomain } from '../../shared/email-domain.js';
import { auditContext } from '../audit-context.js';
import { DomainOutput, domainOutput, lockoutRefusal, SsoDomainName, verificationRecordName } from './sso.js';
import { findVerificationToken } from './sso-dns.js';

const REFUSALS = {
  'token-not-found': 'No TXT record there holds the token',
  'no-txt-record': 'There is no TXT record there',
  'dns-unavailable': 'DNS did not answer',
} as const;

const notListed = () =>
  new ApiError('NOT_FOUND', 'No SSO connection of this organization lists this domain: add it with PUT /settings/sso');

/**
 * POST /api/user/organizations/{organizationId}/settings/sso/domains/{domain}/verify: checks that the
 * TXT record `_api-verification.<domain>` holds the domain's token, and marks it verified.
 *
 * - Only a domain one of the organization's connections lists (NOT_FOUND otherwise: another
 *   organization's claim on a name is not shown); an already verified one is answered as it is.
 * - No record, another value, or DNS failing: DOMAIN_NOT_VERIFIED with `reason` and the record to
 *   publish; a domain another organization verified: CONFLICT (a unique index decides, so two
 *   organizations racing cannot both win).
 * - Verifying the caller's own domain on a required connection, without an SSO sign-in into this
 *   organization, would shut them out: refused (SSO_REQUIRED, `reason` would-lock-you-out).
 */
export const verifySsoDomain = tenantProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/organizations/{organizationId}/settings/sso/domains/{domain}/verify',
      tags: ['sso'],
      summary: 'Verify an SSO domain by its DNS TXT record',
    },
    message: 'Domain verified',
    scopes: ['organizations:write'],
    permission: 'organization:manage-security',
    errors: ['DOMAIN_NOT_VERIFIED'],
  })
  .input(z.object({ organizationId: z.string(), domain: SsoDomainName }))
  .output(DomainOutput)
  .mutation(async ({ ctx, input }) => {
    const { config, credentialCache } = ctx.services;
    const organizationId = ctx.organization.id;
    const row = await ctx.em.findOne(SsoDomainSchema, { organizationId, domain: input.domain });
    if (!row?.connectionId) throw notListed();
    if (row.verifiedAt) return domainOutput(row);
    const connection = await ctx.em.findOneOrFail(SsoConnectionSchema, { id: row.connectionId, organizationId });
    if (
      connection.required &&
      emailDomain(ctx.principal.email) === row.domain &&
      ctx.principal.ssoOrganizationId !== organizationId
    ) {
      throw lockoutRefusal(
        config.baseUrl,
        connection.id,
        'turn `required` off for this connection, verify the domain, sign in through the connection, then turn it on',
      );
    }
    const name = verificationRecordName(row.domain);
    const outcome = await findVerificationToken(config.dnsServers, name, row.verificationToken);
    const now = ctx.services.now();
    if (outcome !== 'found') {
      await ctx.em.nativeUpdate(SsoDomainSchema, { id: row.id }, { lastCheckedAt: now });
      throw new ApiError(
        'DOMAIN_NOT_VERIFIED',
        `${REFUSALS[outcome]}: publish the TXT record ${name} with the value shown, then try again`,
        {
          reason: outcome,
          record: { type: 'TXT', name, value: row.verificationToken },
        },
      );
    }
    let cached: string[] | null;
    try {
      cached = await ctx.em.transactional(async (em) => {
        const changed = await em.nativeUpdate(
          SsoDomainSchema,
          { id: row.id, verifiedAt: null },
          { verifiedAt: now, lastCheckedAt: now },
        );
        // Removed, or verified by a concurrent call, while DNS was asked: answered from the row below.
        if (changed === 0) return null;
        audit(
          em,
          auditContext(ctx),
          {
            action: 'organization.sso_domain_verified',
            targetType: 'sso_connection',
            targetId: connection.id,
            metadata: { domain: row.domain },
          },
          now,
        );
        await em.flush();
        return organizationCacheKeys(em, organizationId);
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ApiError(
          'CONFLICT',
          'Another organization has verified this domain; it must remove it before you can verify it',
        );
      }
      throw error;
    }
    if (cached === null) {
      const current = await ctx.em.fork().findOne(SsoDomainSchema, { id: row.id });
      if (!current) throw notListed();
      return domainOutput(current);
    }
    await credentialCache.forget(cached);
    return domainOutput({ ...row, verifiedAt: now });
  });
