/**
 * The apps a user authorized, as routes show them: one item per client, built from the provider's
 * Grant rows in oidc_artifacts (adapters/oauth/adapter.ts).
 *
 * - A user may hold several grants to one client (each consent can start a new one), but it is the
 *   client they recognise and withdraw, so grants are folded per client: scopes are the union of
 *   all of them, `grantedAt` the latest consent, `expiresAt` the last expiry (null if any never ends).
 * - Only live grants count (expires_at null or in the future), the same test the bearer check makes
 *   (server/auth/bearer.ts), so the list shows exactly the apps whose tokens still work.
 * - The payload is the provider's: scopes sit in `openid.scope` and in each `resources` value, all
 *   space-separated strings.
 */
import { z } from 'zod';
import { iso, IsoDate } from '../../auth/schemas.js';

export const OAuthGrantOutput = z.object({
  clientId: z.string(),
  clientName: z.string(),
  logoUri: z.string().nullable(),
  scopes: z.array(z.string()),
  grantedAt: IsoDate,
  expiresAt: IsoDate.nullable(),
});
export type OAuthGrant = z.output<typeof OAuthGrantOutput>;

/** The part of a Grant payload that names scopes. */
export interface GrantScopes {
  openid?: { scope?: unknown } | null;
  resources?: Record<string, unknown> | null;
}

/** Every scope the grants hold, split, deduplicated and sorted so the answer is stable. */
export function grantedScopes(grants: readonly GrantScopes[]): string[] {
  const scopes = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value !== 'string') return;
    for (const scope of value.split(' ')) if (scope) scopes.add(scope);
  };
  for (const grant of grants) {
    add(grant.openid?.scope);
    for (const value of Object.values(grant.resources ?? {})) add(value);
  }
  return [...scopes].sort();
}

/** One row of the per-client fold in list-oauth-grants.ts. */
export interface GrantRow {
  client_id: string;
  client_name: string;
  logo_uri: string | null;
  granted_at: string | number;
  expires_at: Date | string | null;
  grants: GrantScopes[];
}

export function oauthGrantOutput(row: GrantRow): OAuthGrant {
  return {
    clientId: row.client_id,
    clientName: row.client_name,
    logoUri: row.logo_uri,
    scopes: grantedScopes(row.grants),
    // The provider stamps `iat` in seconds.
    grantedAt: iso(new Date(Number(row.granted_at) * 1000)),
    expiresAt: row.expires_at === null ? null : iso(new Date(row.expires_at)),
  };
}
