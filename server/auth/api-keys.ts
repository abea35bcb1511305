/**
 * Personal access tokens (API.md section 6).
 *
 * - A key is `ba_` + 43 base64url characters (32 random bytes); only its SHA-256 is stored and the
 *   lookup is by that hash, so the comparison is the database's equality on a digest, never on the
 *   secret, and a malformed value is refused before any query.
 * - Unknown, revoked, expired and rotated-out keys are all INVALID_API_KEY.
 * - After a rotation the previous key works until its grace deadline (at most 24 h).
 * - `lastUsedAt` is written at most once a minute per key, off the request's critical path.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomToken, sha256Hex } from '../crypto.js';
import type { Logger } from '../logger.js';
import type { CredentialCache } from './credential-cache.js';
import { USER_SCOPES, type Scope } from '../scopes.js';
import { preparedRows } from '../sql.js';

export const API_KEY_PATTERN = /^ba_[A-Za-z0-9_-]{43}$/;
const LAST_USED_RESOLUTION_MS = 60_000;

export interface NewApiKey {
  key: string;
  start: string;
  keyHash: string;
}

export function generateApiKey(): NewApiKey {
  const key = `ba_${randomToken(32)}`;
  return { key, start: key.slice(0, 8), keyHash: sha256Hex(key) };
}

export interface ValidApiKey {
  id: string;
  userId: string;
  email: string;
  isActive: boolean;
  emailVerified: boolean;
  scopes: ReadonlySet<Scope>;
  organizationId: string | null;
  /** The organization whose SSO signed in the session (or key) that minted this key, if any. */
  ssoOrganizationId: string | null;
}

interface ApiKeyRow {
  id: string;
  user_id: string;
  scopes: string[];
  organization_id: string | null;
  sso_organization_id: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  email: string;
  is_active: boolean;
  verified_at: string | null;
}

const KNOWN_SCOPES: ReadonlySet<string> = new Set(USER_SCOPES);

interface CachedApiKey {
  id: string;
  userId: string;
  scopes: string[];
  organizationId: string | null;
  /** Absent in entries cached before SSO existed (they expire within the cache's TTL). */
  ssoOrganizationId?: string | null;
  /** Epoch ms; null when the key never expires. The earlier of its expiry and, for a rotated-out secret, its grace deadline. */
  validUntil: number | null;
  lastUsedAt: number | null;
  email: string;
  isActive: boolean;
  emailVerified: boolean;
}

async function loadApiKey(em: EntityManager, keyHash: string, now: Date): Promise<CachedApiKey | undefined> {
  const [row] = await preparedRows<
    ApiKeyRow & { previous_key_hash: string | null; previous_key_expires_at: string | null }
  >(
    em,
    'api_key_by_hash',
    `select k.id, k.user_id, k.scopes, k.organization_id, k.sso_organization_id, k.expires_at, k.last_used_at, k.previous_key_hash, k.previous_key_expires_at,
            u.email, u.is_active, u.verified_at
       from api_keys k join users u on u.id = k.user_id
      where k.revoked_at is null
        and (k.key_hash = $1 or (k.previous_key_hash = $1 and k.previous_key_expires_at > $2))`,
    [keyHash, now],
  );
  if (!row) return undefined;
  const deadlines = [row.expires_at, row.previous_key_hash === keyHash ? row.previous_key_expires_at : null]
    .filter((d): d is string => d !== null)
    .map((d) => new Date(d).getTime());
  return {
    id: row.id,
    userId: row.user_id,
    scopes: row.scopes,
    organizationId: row.organization_id,
    ssoOrganizationId: row.sso_organization_id,
    validUntil: deadlines.length > 0 ? Math.min(...deadlines) : null,
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at).getTime() : null,
    email: row.email,
    isActive: row.is_active,
    emailVerified: row.verified_at !== null,
  };
}

/** The key behind an X-Api-Key value (from the credential cache when it is there), or null when it does not verify. */
export async function validateApiKey(
  em: EntityManager,
  cache: CredentialCache,
  value: string,
  now: Date,
  log: Logger,
): Promise<ValidApiKey | null> {
  if (!API_KEY_PATTERN.test(value)) return null;
  const keyHash = sha256Hex(value);
  const key = await cache.getOrLoad(keyHash, () => loadApiKey(em, keyHash, now));
  if (!key) return null;
  if (key.validUntil !== null && key.validUntil <= now.getTime()) return null;
  if (key.lastUsedAt === null || now.getTime() - key.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
    key.lastUsedAt = now.getTime();
    void cache.set(keyHash, key);
    void em
      .getConnection()
      .execute('update api_keys set last_used_at = ? where id = ?', [now, key.id])
      .catch((error: unknown) => log.warn({ err: (error as Error).message }, 'could not record API key use'));
  }
  return {
    id: key.id,
    userId: key.userId,
    email: key.email,
    isActive: key.isActive,
    emailVerified: key.emailVerified,
    scopes: new Set(key.scopes.filter((s): s is Scope => KNOWN_SCOPES.has(s))),
    organizationId: key.organizationId,
    ssoOrganizationId: key.ssoOrganizationId ?? null,
  };
}

/** The cache keys of an API key: its secret's hash and, during a rotation grace, the previous one's. */
export function apiKeyCacheKeys(key: { keyHash: string; previousKeyHash: string | null }): string[] {
  return key.previousKeyHash ? [key.keyHash, key.previousKeyHash] : [key.keyHash];
}
