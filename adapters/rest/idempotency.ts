/**
 * Idempotency-Key on REST POSTs (API.md section 3), kept in PostgreSQL so every instance agrees.
 *
 * - The first answer for a (principal, key) pair is kept 24 h; a retry with the same method, path and
 *   body gets it again, byte for byte, with `Idempotent-Replayed: true`.
 * - The same key with another request is 409 IDEMPOTENCY_KEY_REUSED; while the first is still running
 *   a duplicate is 409 IDEMPOTENCY_KEY_IN_USE. One INSERT … ON CONFLICT decides who runs, so two
 *   concurrent requests cannot both do the work.
 * - Answers of 500 and above are not kept: the key is released and a retry runs again.
 * - An answer that carries a secret shown once (meta.secret) is remembered without its body: a retry
 *   is told the request already succeeded, and the secret is neither stored nor shown twice.
 */
import { sha256Hex } from '../../server/crypto.js';
import type { Services } from '../../server/context.js';
import { ApiError } from '../../server/errors.js';

const TTL_MS = 24 * 60 * 60 * 1000;
const MAX_KEY_LENGTH = 255;
/** Kept instead of a body that holds a secret. */
export const SECRET_WITHHELD = '';

export type Claim =
  | { kind: 'run'; complete(status: number, body: string): Promise<void>; release(): Promise<void> }
  | { kind: 'replay'; status: number; body: string };

interface Row {
  request_hash: string;
  status: number | null;
  body: string | null;
}

export function requestHash(method: string, path: string, body: unknown): string {
  return sha256Hex(`${method} ${path}\n${JSON.stringify(body ?? null)}`);
}

export async function claimIdempotencyKey(services: Services, principal: string, key: string, hash: string): Promise<Claim> {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new ApiError('BAD_REQUEST', `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
  const connection = services.orm.em.getConnection();
  const now = services.now();
  await connection.execute('delete from idempotency_keys where principal = ? and key = ? and expires_at <= ?', [principal, key, now]);
  const inserted = await connection.execute<{ key: string }[]>(
    `insert into idempotency_keys (principal, key, request_hash, status, body, created_at, completed_at, expires_at)
     values (?, ?, ?, null, null, ?, null, ?) on conflict do nothing returning key`,
    [principal, key, hash, now, new Date(now.getTime() + TTL_MS)],
  );
  if (inserted.length > 0) {
    return {
      kind: 'run',
      complete: async (status, body) => {
        await connection.execute('update idempotency_keys set status = ?, body = ?, completed_at = ? where principal = ? and key = ?', [status, body, services.now(), principal, key]);
      },
      release: async () => {
        await connection.execute('delete from idempotency_keys where principal = ? and key = ?', [principal, key]);
      },
    };
  }
  const [existing] = await connection.execute<Row[]>('select request_hash, status, body from idempotency_keys where principal = ? and key = ?', [principal, key]);
  if (!existing) return claimIdempotencyKey(services, principal, key, hash);
  if (existing.request_hash !== hash) {
    throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with another request; use a new key for a new request');
  }
  if (existing.body === SECRET_WITHHELD) {
    throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'A request with this Idempotency-Key already succeeded; the secret it created is shown only once');
  }
  if (existing.status === null || existing.body === null) {
    throw new ApiError('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still in progress; retry shortly');
  }
  return { kind: 'replay', status: existing.status, body: existing.body };
}
