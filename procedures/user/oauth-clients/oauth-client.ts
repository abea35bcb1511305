/**
 * OAuth clients as routes show them, their input rules, and the lookup the procedures share.
 *
 * - Redirect URIs are absolute, compared later as exact strings (so stored as sent): https, or http
 *   only on a loopback host (127.0.0.1, [::1], localhost) for native apps (RFC 8252); no fragment
 *   (RFC 6749 section 3.1.2) and no wildcard.
 * - Scopes are the user-facing ones plus the OIDC ones; `client_credentials` only for confidential
 *   clients, since a public client cannot authenticate itself.
 * - A confidential client's secret is stored only as SHA-256; outputs never carry the hash, and the
 *   secret appears only in the answers of create and rotate-secret.
 * - Lookups are by id and owner: another user's client is NOT_FOUND, never FORBIDDEN.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { OAuthClientSchema, type OAuthClient } from '../../../entities/oauth.js';
import { randomToken, sha256Hex } from '../../../server/crypto.js';
import { ApiError } from '../../../server/errors.js';
import { USER_SCOPES } from '../../../server/scopes.js';
import { iso, IsoDate } from '../../auth/schemas.js';

export const CLIENT_SCOPES = [...USER_SCOPES, 'openid', 'profile', 'email', 'offline_access'] as const;
const KNOWN_SCOPES: ReadonlySet<string> = new Set(CLIENT_SCOPES);
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export const CLIENT_TYPES = ['confidential', 'public'] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost']);
export const CLIENT_CREDENTIALS_ERROR = 'client_credentials needs a confidential client';

export const ClientId = z.string().min(1).max(64);

/** Why a redirect URI is refused, or null when it is acceptable. */
function redirectUriProblem(value: string): string | null {
  if (value.includes('*')) return 'Must not contain a wildcard';
  if (value.includes('#')) return 'Must not contain a fragment';
  // The exact string is what the provider compares, so a URL the parser would rewrite around spaces is refused.
  if (value !== value.trim() || !URL.canParse(value)) return 'Must be an absolute URL';
  const url = new URL(value);
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return null;
  return 'Must use https (http only on 127.0.0.1, [::1] or localhost)';
}

const RedirectUri = z
  .string()
  .max(2048, 'Must be at most 2048 characters')
  .superRefine((value, check) => {
    const problem = redirectUriProblem(value);
    if (problem) check.addIssue({ code: 'custom', message: problem });
  });

const HttpsUrl = z
  .url({ protocol: /^https$/, error: 'Must be an https URL' })
  .max(2048, 'Must be at most 2048 characters');

/** Fields writable on create and update; duplicates in the lists are dropped. */
export const ClientFields = {
  name: z.string().trim().min(1, 'Required').max(100, 'Must be at most 100 characters'),
  type: z.enum(CLIENT_TYPES, { error: `Must be one of: ${CLIENT_TYPES.join(', ')}` }),
  redirectUris: z
    .array(RedirectUri)
    .min(1, 'Name at least one redirect URI')
    .max(10, 'Must be at most 10 redirect URIs')
    .transform((uris) => [...new Set(uris)]),
  allowedScopes: z
    .array(z.string())
    .min(1, 'Name at least one scope')
    .max(100, 'Must be at most 100 scopes')
    .refine(
      (scopes) => scopes.every((scope) => KNOWN_SCOPES.has(scope)),
      `Unknown scope; allowed scopes are: ${CLIENT_SCOPES.join(', ')}`,
    )
    .transform((scopes) => [...new Set(scopes)]),
  grantTypes: z
    .array(z.enum(GRANT_TYPES, { error: `Must be one of: ${GRANT_TYPES.join(', ')}` }))
    .min(1, 'Name at least one grant type')
    .transform((grants) => [...new Set(grants)]),
  // null clears the field on update.
  uri: HttpsUrl.nullable().optional(),
};

export const OAuthClientOutput = z.object({
  clientId: z.string(),
  name: z.string(),
  type: z.enum(CLIENT_TYPES),
  redirectUris: z.array(z.string()),
  allowedScopes: z.array(z.string()),
  grantTypes: z.array(z.string()),
  logoUri: z.string().nullable(),
  policyUri: z.string().nullable(),
  tosUri: z.string().nullable(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});

export function oauthClientOutput(client: OAuthClient): z.output<typeof OAuthClientOutput> {
  return {
    clientId: client.id,
    name: client.name,
    type: client.type,
    redirectUris: client.redirectUris,
    allowedScopes: client.allowedScopes,
    grantTypes: client.grantTypes,
    logoUri: client.logoUri,
    policyUri: client.policyUri,
    tosUri: client.tosUri,
    createdAt: iso(client.createdAt),
    updatedAt: iso(client.updatedAt),
  };
}

/** A new client secret and the only form of it that is kept. */
export function newClientSecret(): { secret: string; secretHash: string } {
  const secret = `cs_${randomToken(32)}`;
  return { secret, secretHash: sha256Hex(secret) };
}

/** The 400 for a grant the client type cannot use, shaped like a schema failure on `grantTypes`. */
export function assertGrantsFit(type: ClientType, grantTypes: readonly string[]): void {
  if (type === 'public' && grantTypes.includes('client_credentials')) {
    throw new ApiError('VALIDATION_ERROR', `Invalid grantTypes: ${CLIENT_CREDENTIALS_ERROR}`, {
      errors: [{ field: 'grantTypes', error: CLIENT_CREDENTIALS_ERROR, location: 'body' }],
    });
  }
}

/** One of the caller's clients; any other id is NOT_FOUND. */
export async function findOwnClient(em: EntityManager, userId: string, clientId: string): Promise<OAuthClient> {
  const client = await em.findOne(OAuthClientSchema, { id: clientId, userId });
  if (!client) throw new ApiError('NOT_FOUND', 'No OAuth client of yours has this id');
  return client;
}
