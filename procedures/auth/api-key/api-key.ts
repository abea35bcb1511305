/**
 * Personal access tokens as routes show them, their input rules, and the checks the procedures share.
 *
 * - An OAuth access token cannot create, change or rotate keys (FORBIDDEN): a key would outlive the grant the
 *   user can withdraw, so an app could keep its access after being disconnected.
 * - A key never grants more than its creator holds: a PAT creating or updating a key can grant only
 *   scopes it carries itself (API_KEY_MISSING_SCOPES), and a pinned PAT only keys pinned to its own
 *   organization (FORBIDDEN); an unpinned request from a pinned PAT inherits the pin.
 * - A key may be pinned only to an organization its owner is a member of.
 * - A PAT sees and manages only the keys within its own reach (same pin, no scope it lacks), so it
 *   cannot rotate a broader key to obtain that key's secret.
 * - Lookups are by id and owner: another user's key is NOT_FOUND, never FORBIDDEN; revoked keys are gone.
 * - Outputs never carry the hash; the full key only in the answers of create and rotate.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { ApiKeySchema, type ApiKey } from '../../../entities/api-key.js';
import { MemberSchema } from '../../../entities/organization.js';
import type { Principal } from '../../../server/auth/credentials.js';
import { ApiError } from '../../../server/errors.js';
import { ULID_PATTERN } from '../../../server/ids.js';
import { USER_SCOPES, type Scope } from '../../../server/scopes.js';
import { iso, IsoDate, isoOrNull } from '../schemas.js';

const KNOWN: ReadonlySet<string> = new Set(USER_SCOPES);
const METADATA_MAX_BYTES = 4096;

export const ApiKeyId = z.string().regex(ULID_PATTERN, 'Must be an API key id');

/** Fields writable on create and update; duplicate scopes are dropped. */
export const ApiKeyFields = {
  name: z.string().trim().min(1, 'Required').max(100, 'Must be at most 100 characters'),
  scopes: z
    .array(z.string())
    .min(1, 'Name at least one scope')
    .max(100, 'Must be at most 100 scopes')
    .refine(
      (scopes) => scopes.every((scope) => KNOWN.has(scope)),
      `Unknown scope; allowed scopes are: ${USER_SCOPES.join(', ')}`,
    )
    .transform((scopes) => [...new Set(scopes)] as Scope[]),
  metadata: z
    .record(z.string(), z.unknown())
    .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= METADATA_MAX_BYTES, 'Must be at most 4 KB of JSON'),
};

export const ApiKeyOutput = z.object({
  id: z.string(),
  name: z.string(),
  start: z.string(),
  scopes: z.array(z.string()),
  organizationId: z.string().nullable(),
  expiresAt: IsoDate.nullable(),
  lastUsedAt: IsoDate.nullable(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
  metadata: z.record(z.string(), z.unknown()),
});

/** The answer of create and rotate: the one time the full key is shown. */
export const NewApiKeyOutput = ApiKeyOutput.pick({
  id: true,
  name: true,
  start: true,
  scopes: true,
  organizationId: true,
  expiresAt: true,
  createdAt: true,
  metadata: true,
}).extend({
  key: z.string(),
});

export function apiKeyOutput(key: ApiKey): z.output<typeof ApiKeyOutput> {
  return {
    id: key.id,
    name: key.name,
    start: key.start,
    scopes: key.scopes,
    organizationId: key.organizationId,
    expiresAt: isoOrNull(key.expiresAt),
    lastUsedAt: isoOrNull(key.lastUsedAt),
    createdAt: iso(key.createdAt),
    updatedAt: iso(key.updatedAt),
    metadata: key.metadata,
  };
}

export function newApiKeyOutput(key: ApiKey, secret: string): z.output<typeof NewApiKeyOutput> {
  const { id, name, start, scopes, organizationId, expiresAt, createdAt, metadata } = apiKeyOutput(key);
  return { key: secret, id, name, start, scopes, organizationId, expiresAt, createdAt, metadata };
}

/**
 * Refuses what the calling credential may not hand out as a key: anything at all for an OAuth token,
 * and scopes it does not carry itself (sessions carry every scope).
 */
export function assertGrantable(principal: Principal, scopes: readonly string[]): void {
  if (principal.kind === 'oauth') {
    throw new ApiError(
      'FORBIDDEN',
      'An OAuth access token cannot create, change or rotate API keys; sign in, or use an API key',
    );
  }
  const missing = scopes.filter((scope) => !principal.scopes.has(scope as Scope));
  if (principal.kind !== 'session' && missing.length > 0) {
    throw new ApiError(
      'API_KEY_MISSING_SCOPES',
      `This credential cannot grant scopes it lacks: ${missing.join(', ')}`,
      { requiredScopes: missing },
    );
  }
}

/** The organization a new key is pinned to: the requested one (if the caller is a member) or a pinned PAT's own. */
export async function pinFor(
  em: EntityManager,
  principal: Principal,
  requested: string | undefined,
): Promise<string | null> {
  if (principal.organizationId && requested && requested !== principal.organizationId) {
    throw new ApiError('FORBIDDEN', 'This credential is pinned to another organization');
  }
  const organizationId = requested ?? principal.organizationId ?? null;
  if (organizationId && !(await em.count(MemberSchema, { organizationId, userId: principal.userId }))) {
    throw new ApiError('FORBIDDEN', 'You are not a member of this organization');
  }
  return organizationId;
}

/** What a principal may see: its owner's live keys, and for a pinned PAT only those with its pin. */
export function visibleKeys(principal: Principal) {
  return {
    userId: principal.userId,
    revokedAt: null,
    ...(principal.organizationId ? { organizationId: principal.organizationId } : {}),
  };
}

/** One of the caller's live keys; any other id is NOT_FOUND. */
export async function findOwnKey(em: EntityManager, principal: Principal, id: string): Promise<ApiKey> {
  const key = await em.findOne(ApiKeySchema, { id, ...visibleKeys(principal) });
  if (!key) throw new ApiError('NOT_FOUND', 'No API key of yours has this id');
  return key;
}
