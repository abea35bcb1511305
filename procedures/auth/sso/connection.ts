/**
 * What every SSO route needs of a connection: finding it and the domain rule (its URLs: server/sso-urls.ts).
 *
 * - A connection is named by its id in the path (`providerId`); an unknown id, or a connection of the
 *   other kind than the route serves, is 404 NOT_FOUND, the same answer for both.
 * - An address the provider asserts signs in only when its domain is one this connection serves and
 *   the organization verified (DOMAIN_NOT_VERIFIED otherwise): a provider speaks for its own domains,
 *   never for anyone else's addresses.
 */
import { SsoConnectionSchema, SsoDomainSchema, type SsoConnection } from '../../../entities/sso.js';
import { emailDomain } from '../../shared/email-domain.js';
import type { Context } from '../../../server/context.js';
import { ApiError } from '../../../server/errors.js';
import { ULID_PATTERN } from '../../../server/ids.js';
import { federationError } from '../federated/complete.js';

/** `accounts.provider_id`, login history's provider and the flow's provider for a connection. */
export const ssoProvider = (connectionId: string) => `sso:${connectionId}`;

/** The connection `providerId` names, when it is of `type` (any type when omitted); else 404. */
export async function findConnection(
  ctx: Pick<Context, 'em'>,
  providerId: string,
  type?: SsoConnection['type'],
): Promise<SsoConnection> {
  const connection = ULID_PATTERN.test(providerId)
    ? await ctx.em.findOne(SsoConnectionSchema, { id: providerId })
    : null;
  if (!connection || (type && connection.type !== type)) {
    const kind = type === 'saml' ? 'SAML ' : type === 'oidc' ? 'OpenID Connect ' : '';
    throw new ApiError('NOT_FOUND', `No ${kind}SSO connection has this id`);
  }
  return connection;
}

/**
 * The asserted address, lower-cased, when its domain is verified for this connection; else
 * DOMAIN_NOT_VERIFIED (recorded by the caller's recordingFailures).
 */
export async function emailOnVerifiedDomain(
  ctx: Pick<Context, 'em'>,
  connection: SsoConnection,
  asserted: string,
): Promise<string> {
  const email = asserted.trim().toLowerCase();
  const domain = email.lastIndexOf('@') > 0 ? emailDomain(email) : '';
  const verified =
    domain !== '' &&
    (await ctx.em.count(SsoDomainSchema, {
      domain,
      connectionId: connection.id,
      organizationId: connection.organizationId,
      verifiedAt: { $ne: null },
    })) > 0;
  if (!verified) {
    throw federationError(
      'DOMAIN_NOT_VERIFIED',
      'domain-not-verified',
      'The identity provider signed in an address whose domain this SSO connection does not serve or the organization has not verified',
    );
  }
  return email;
}
