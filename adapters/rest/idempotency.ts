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
 *
 * Faults (a lost answer must not become a second write):
 * - Every transaction the request commits marks the key `committed_at` just before COMMIT, in that
 *   same transaction (the context's beforeCommit hook). A write and its mark commit together or not
 *   at all, so a key whose answer was lost (a 503 after the commit, a database gone before the answer
 *   could be kept) still knows the write happened: releasing it keeps it, and a retry is told the
 *   request already succeeded instead of running it twice.
 * - A claim that is neither answered nor committed after CLAIM_LEASE_MS (its request died, or the
 *   release could not reach the database) is taken over by the next retry. The mark checks that the
 *   claim is still its own: a request whose claim was taken over cannot commit, so even a slow one
 *   never writes twice.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { sha256Hex } from '../../server/crypto.js';
import type { Services } from '../../server/context.js';
import { ApiError } from '../../server/errors.js';
import { newId } from '../../server/ids.js';

const TTL_MS = 24 * 60 * 60 * 1000;
export const CLAIM_LEASE_MS = 10_000;
const MAX_KEY_LENGTH = 255;
/** Kept instead of a body that holds a secret. */
export const SECRET_WITHHELD = '';

export type Claim =
  | {
      kind: 'run';
      /** Marks the key committed inside the transaction about to commit; throws if the claim was taken over. */
      markCommitted(em: EntityManager, transaction: unknown): Promise<void>;
      complete(status: number, body: string): Promise<void>;
      release(): Promise<void>;
    }
  | { kind: 'replay'; status: number; body: string };

interface Row {
  request_hash: string;
  status: number | null;
  body: string | null;
  committed_at: Date | null;
}

export function requestHash(method: string, path: string, body: unknown): string {
  return sha256Hex(`${method} ${path}\n${JSON.stringify(body ?? null)}`);
}

export async function claimIdempotencyKey(
  services: Services,
  principal: string,
  key: string,
  hash: string,
): Promise<Claim> {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new ApiError('BAD_REQUEST', `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
  const connection = services.orm.em.getConnection();
  const now = services.now();
  // Expired keys go, and so does a claim left behind by a request that neither answered nor committed.
  await connection.execute(
    `delete from idempotency_keys where principal = ? and key = ?
        and (expires_at <= ? or (status is null and committed_at is null and created_at <= ?))`,
    [principal, key, now, new Date(now.getTime() - CLAIM_LEASE_MS)],
  );
  const claimId = newId();
  const inserted = await connection.execute<{ key: string }[]>(
    `insert into idempotency_keys (principal, key, request_hash, status, body, claim_id, created_at, committed_at, completed_at, expires_at)
     values (?, ?, ?, null, null, ?, ?, null, null, ?) on conflict do nothing returning key`,
    [principal, key, hash, claimId, now, new Date(now.getTime() + TTL_MS)],
  );
  if (inserted.length > 0) {
    const mine = 'principal = ? and key = ? and claim_id = ?';
    return {
      kind: 'run',
      markCommitted: async (em, transaction) => {
        const marked = await em
          .getConnection()
          .execute<{ key: string }[]>(
            `update idempotency_keys set committed_at = ? where ${mine} returning key`,
            [services.now(), principal, key, claimId],
            'all',
            transaction,
          );
        if (marked.length === 0) {
          throw new ApiError(
            'IDEMPOTENCY_KEY_IN_USE',
            'This request ran too long and a retry with the same Idempotency-Key took over; nothing was changed by this one',
          );
        }
      },
      complete: async (status, body) => {
        await connection.execute(`update idempotency_keys set status = ?, body = ?, completed_at = ? where ${mine}`, [
          status,
          body,
          services.now(),
          principal,
          key,
          claimId,
        ]);
      },
      release: async () => {
        await connection.execute(`delete from idempotency_keys where ${mine} and committed_at is null`, [
          principal,
          key,
          claimId,
        ]);
      },
    };
  }
  const [existing] = await connection.execute<Row[]>(
    'select request_hash, status, body, committed_at from idempotency_keys where principal = ? and key = ?',
    [principal, key],
  );
  if (!existing) return claimIdempotencyKey(services, principal, key, hash);
  if (existing.request_hash !== hash) {
    throw new ApiError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was used with another request; use a new key for a new request',
    );
  }
  if (existing.body === SECRET_WITHHELD) {
    throw new ApiError(
      'IDEMPOTENCY_KEY_REUSED',
      'A request with this Idempotency-Key already succeeded; the secret it created is shown only once',
    );
  }
  if (existing.status === null || existing.body === null) {
    if (existing.committed_at !== null) {
      throw new ApiError(
        'IDEMPOTENCY_KEY_REUSED',
        'A request with this Idempotency-Key already made its change, but its answer was lost; read the result instead of retrying',
      );
    }
    throw new ApiError(
      'IDEMPOTENCY_KEY_IN_USE',
      'A request with this Idempotency-Key is still in progress; retry shortly',
    );
  }
  return { kind: 'replay', status: existing.status, body: existing.body };
}
