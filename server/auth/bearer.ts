/**
 * OAuth access tokens on the API (API.md sections 6 and 10).
 *
 * - A token is a JWT signed by this service's provider, checked against its own published keys, with
 *   `iss` the provider and `aud` this API; anything else is INVALID_OR_EXPIRED_TOKEN.
 * - A user's token lives only as long as the grant that issued it (its `grant_id` claim): revoking that
 *   grant (withdrawal, a reused code, a replayed refresh token, the client's deletion) ends the token on
 *   its next use, not when it expires; another grant of the same user to the same client does not save it.
 * - A token revoked on its own (RFC 7009) is refused by its `jti` until it expires; the check rides in
 *   the same round trip as the grant's. A token without a `jti` cannot be revoked, so it is refused.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { USER_SCOPES, type Scope } from '../scopes.js';
import { preparedRows } from '../sql.js';

export interface AccessTokenVerifier {
  verify(em: EntityManager, token: string, now: Date): Promise<VerifiedAccessToken | null>;
}

export interface VerifiedAccessToken {
  subject: string;
  clientId: string;
  scopes: ReadonlySet<Scope>;
  /** Every scope of the token, OIDC ones included (userinfo reads them). */
  allScopes: string[];
  /** True when the token acts for the client itself (client credentials), not a user. */
  clientOnly: boolean;
  /** The user behind a user's token, read with its grant. */
  user?: { email: string; isActive: boolean; emailVerified: boolean };
  /** The verified claims, as introspection reports them. */
  claims: JWTPayload & { jti: string; exp: number };
}

const KNOWN: ReadonlySet<string> = new Set(USER_SCOPES);

export function createAccessTokenVerifier(options: {
  jwks: JWK[];
  issuer: string;
  audience: string;
}): AccessTokenVerifier {
  const publicKeys = options.jwks.map(
    ({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart }) => publicPart,
  );
  const keys: JWTVerifyGetKey = createLocalJWKSet({ keys: publicKeys });
  return {
    async verify(em, token, now) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: options.issuer,
          audience: options.audience,
          currentDate: now,
          algorithms: ['RS256', 'ES256'],
        }));
      } catch {
        return null;
      }
      const clientId = typeof payload.client_id === 'string' ? payload.client_id : undefined;
      const { jti, exp } = payload;
      if (!payload.sub || !clientId || typeof jti !== 'string' || typeof exp !== 'number') return null;
      const allScopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
      const clientOnly = payload.sub === clientId;
      const verified: VerifiedAccessToken = {
        subject: payload.sub,
        clientId,
        scopes: new Set(allScopes.filter((s: string): s is Scope => KNOWN.has(s))),
        allScopes,
        clientOnly,
        claims: { ...payload, jti, exp },
      };
      if (clientOnly) {
        const revoked = await preparedRows(
          em,
          'oauth_revoked_jti',
          'select 1 from revoked_access_tokens where jti = $1',
          [jti],
        );
        return revoked.length ? null : verified;
      }
      if (typeof payload.grant_id !== 'string') return null;
      // The grant, its user and the token's revocation in one round trip.
      const [row] = await preparedRows<{ email: string; is_active: boolean; verified_at: string | null }>(
        em,
        'oauth_live_token',
        `select u.email, u.is_active, u.verified_at
           from oidc_artifacts g join users u on u.id = g.payload->>'accountId'
          where g.model = 'Grant' and g.id = $1 and g.payload->>'accountId' = $2 and g.payload->>'clientId' = $3
            and (g.expires_at is null or g.expires_at > $4)
            and not exists (select 1 from revoked_access_tokens r where r.jti = $5)`,
        [payload.grant_id, payload.sub, clientId, now, jti],
      );
      if (!row) return null;
      return {
        ...verified,
        user: { email: row.email, isActive: row.is_active, emailVerified: row.verified_at !== null },
      };
    },
  };
}

/**
 * Refuses a token from now until it expires (RFC 7009). Records of tokens that have expired meanwhile
 * go in the same statement, so the table holds only tokens that could still be presented.
 */
export async function revokeAccessToken(
  em: EntityManager,
  token: { jti: string; exp: number },
  now: Date,
): Promise<void> {
  await em.getConnection().execute(
    `with expired as (delete from revoked_access_tokens where expires_at <= ?)
     insert into revoked_access_tokens (jti, expires_at) values (?, ?) on conflict (jti) do nothing`,
    [now, token.jti, new Date(token.exp * 1000)],
  );
}
