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
}

interface ApiKeyRow {
  id: string;
  user_id: string;
  scopes: string[];
  organization_id: string | null;
  expires_at: string | null;
  last_used_at: string | null;
  email: string;
  is_active: boolean;
  verified_at: string | null;
}

const KNOWN_SCOPES: ReadonlySet<string> = new Set(USER_SCOPES);

/** The key behind an X-Api-Key value, or null when it does not verify. */
export async function validateApiKey(em: EntityManager, value: string, now: Date, log: Logger): Promise<ValidApiKey | null> {
  if (!API_KEY_PATTERN.test(value)) return null;
  const [row] = await preparedRows<ApiKeyRow>(
    em,
    'api_key_by_hash',
    `select k.id, k.user_id, k.scopes, k.organization_id, k.expires_at, k.last_used_at, u.email, u.is_active, u.verified_at
       from api_keys k join users u on u.id = k.user_id
      where k.revoked_at is null
        and (k.key_hash = $1 or (k.previous_key_hash = $1 and k.previous_key_expires_at > $2))`,
    [sha256Hex(value), now],
  );
  if (!row) return null;
  if (row.expires_at && new Date(row.expires_at).getTime() <= now.getTime()) return null;
  if (!row.last_used_at || now.getTime() - new Date(row.last_used_at).getTime() >= LAST_USED_RESOLUTION_MS) {
    void em
      .getConnection()
      .execute('update api_keys set last_used_at = ? where id = ?', [now, row.id])
      .catch((error: unknown) => log.warn({ err: (error as Error).message }, 'could not record API key use'));
  }
  return {
    id: row.id,
    userId: row.user_id,
    email: row.email,
    isActive: row.is_active,
    emailVerified: row.verified_at !== null,
    scopes: new Set(row.scopes.filter((s): s is Scope => KNOWN_SCOPES.has(s))),
    organizationId: row.organization_id,
  };
}
