/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of this service's access tokens: JWTs, which the
 * provider neither stores nor accepts at those endpoints, so they are answered here.
 *
 * - The caller must be a client of the registry that proved itself with its secret, or a public client
 *   naming itself; anyone else is invalid_client (401).
 * - A client learns about and revokes only the tokens issued to it: another client's token
 *   introspects as inactive and its revocation does nothing, answered like an unknown token's (200).
 * - Active means what the API accepts (server/auth/bearer.ts): signed by this provider, for this API,
 *   not expired, its grant alive, its user active, its jti not revoked.
 */
import { decodeProtectedHeader } from 'jose';
import type { Services } from '../../server/context.js';
import { revokeAccessToken, type VerifiedAccessToken } from '../../server/auth/bearer.js';
import type { NamedClient } from './client-auth.js';

/** A JWT (the provider's access tokens are; its refresh tokens are opaque). */
export function isStructuredToken(token: unknown): token is string {
  if (typeof token !== 'string') return false;
  try {
    decodeProtectedHeader(token);
    return true;
  } catch {
    return false;
  }
}

/** The client a request may introspect or revoke for, or undefined when it has not authenticated. */
export function callerOf(client: NamedClient | undefined): string | undefined {
  return client && (client.proven || client.public) ? client.clientId : undefined;
}

async function ownToken(services: Services, callerId: string, token: string): Promise<VerifiedAccessToken | undefined> {
  const verified = await services.accessTokens?.verify(services.orm.em.fork(), token, services.now());
  if (!verified || verified.clientId !== callerId) return undefined;
  if (verified.user && !verified.user.isActive) return undefined;
  return verified;
}

export async function introspectAccessToken(
  services: Services,
  callerId: string,
  token: string,
): Promise<Record<string, unknown>> {
  const verified = await ownToken(services, callerId, token);
  if (!verified) return { active: false };
  const { scope, client_id, sub, exp, iat, iss, aud, jti } = verified.claims;
  return { active: true, scope, client_id, sub, exp, iat, iss, aud, jti, token_type: 'Bearer' };
}

export async function revokeOwnAccessToken(services: Services, callerId: string, token: string): Promise<void> {
  const verified = await ownToken(services, callerId, token);
  if (verified) await revokeAccessToken(services.orm.em.fork(), verified.claims, services.now());
}
