/**
 * Emailed tokens (verification, password reset, email change, magic link).
 *
 * - Only the SHA-256 of a token is stored; the token itself exists only in the email.
 * - Single use, enforced by one atomic UPDATE … WHERE used_at IS NULL, so two concurrent uses of a
 *   link cannot both succeed; issuing a new token of a purpose retires the older ones: the user's,
 *   or for a magic link the address's (a link may go to an address that has no account yet, userId null).
 * - Unknown, used, expired and wrong-purpose tokens get the same answer.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { VerificationSchema, type Verification, type VerificationPurpose } from '../../entities/verification.js';
import { randomToken, sha256Hex, TOKEN_PATTERN } from '../../server/crypto.js';
import { ApiError } from '../../server/errors.js';
import { newId } from '../../server/ids.js';

const HOUR_MS = 60 * 60 * 1000;
export const VERIFICATION_TTL_MS: Record<VerificationPurpose, number> = {
  'verify-email': 24 * HOUR_MS,
  'change-email': 24 * HOUR_MS,
  'reset-password': HOUR_MS,
  'magic-link': 15 * 60 * 1000,
};

export async function issueVerification(
  em: EntityManager,
  input: { userId: string | null; purpose: VerificationPurpose; email: string; now: Date },
): Promise<string> {
  // Magic links are retired per address: the newest link mailed to it is the one that works.
  const owner =
    input.purpose === 'magic-link' || input.userId === null ? { email: input.email } : { userId: input.userId };
  await em.nativeUpdate(VerificationSchema, { ...owner, purpose: input.purpose, usedAt: null }, { usedAt: input.now });
  const token = randomToken();
  em.persist(
    em.create(VerificationSchema, {
      id: newId(),
      userId: input.userId,
      purpose: input.purpose,
      tokenHash: sha256Hex(token),
      email: input.email,
      expiresAt: new Date(input.now.getTime() + VERIFICATION_TTL_MS[input.purpose]),
      usedAt: null,
      createdAt: input.now,
    }),
  );
  await em.flush();
  return token;
}

export function invalidToken(): ApiError {
  return new ApiError('INVALID_OR_EXPIRED_TOKEN', 'This link is invalid, expired or already used; request a new one');
}

interface VerificationRow {
  id: string;
  /** Null only for a magic link to an address without an account. */
  user_id: string | null;
  purpose: VerificationPurpose;
  email: string;
}

/** Marks a live token of one of `purposes` used and returns it; throws the one invalid-token error otherwise. */
export async function consumeVerification(
  em: EntityManager,
  token: string,
  purposes: VerificationPurpose[],
  now: Date,
): Promise<Pick<Verification, 'id' | 'userId' | 'purpose' | 'email'>> {
  if (!TOKEN_PATTERN.test(token)) throw invalidToken();
  const rows = await em.getConnection().execute<VerificationRow[]>(
    `update verifications set used_at = ?
      where token_hash = ? and used_at is null and expires_at > ? and purpose in (${purposes.map(() => '?').join(', ')})
      returning id, user_id, purpose, email`,
    [now, sha256Hex(token), now, ...purposes],
    'all',
    em.getTransactionContext(),
  );
  const row = rows[0];
  if (!row) throw invalidToken();
  return { id: row.id, userId: row.user_id, purpose: row.purpose, email: row.email };
}

/** Whether a token would be accepted now, without using it (to avoid hashing a password for nothing). */
export async function isLiveVerification(
  em: EntityManager,
  token: string,
  purpose: VerificationPurpose,
  now: Date,
): Promise<boolean> {
  if (!TOKEN_PATTERN.test(token)) return false;
  const found = await em.count(VerificationSchema, {
    tokenHash: sha256Hex(token),
    purpose,
    usedAt: null,
    expiresAt: { $gt: now },
  });
  return found > 0;
}
