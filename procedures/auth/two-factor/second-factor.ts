/**
 * The second step of a sign-in, shared by POST /api/auth/two-factor/verify-totp, /verify-backup-code
 * and the OpenID provider's code form.
 *
 * - The challenge (cookie) loses one of its 5 tries first, atomically, before anything is checked; a
 *   missing, expired, used or exhausted one is INVALID_OR_EXPIRED_TOKEN.
 * - Then a point of the user's `failedSecondFactor` budget is spent, also before checking: 10 failures
 *   in 15 minutes, over any number of fresh challenges, block the user's second step for 15 minutes
 *   (429); a success clears it. The per-IP `twoFactor` budget is spent before all this.
 * - A TOTP code counts once: its time step must be later than the last accepted one, advanced by one
 *   conditional UPDATE in the transaction that ends the challenge (totp.ts); a backup code is spent
 *   by a conditional UPDATE in that transaction too (backup-codes.ts).
 * - Every refused attempt is a row of the user's sign-in history (method `otp` or `backup`, with the
 *   reason); the success is the session's own row (start-session.ts).
 * - A deactivated account is told so only once the code is proven.
 */
import type { Context } from '../../../server/context.js';
import { toDateOrNull } from '../../../server/database.js';
import { ApiError } from '../../../server/errors.js';
import { rateLimitError, setRateLimitHeaders } from '../../../server/trpc.js';
import type { NewSession } from '../../../server/auth/sessions.js';
import type { VerifiedUser } from '../check-password.js';
import { recordLogin } from '../start-session.js';
import { spendBackupCode } from './backup-codes.js';
import { completeChallenge, takeChallengeAttempt } from './challenge.js';
import { acceptStep, decryptSecret, matchingStep } from './totp.js';

export type SecondFactor = 'otp' | 'backup';

interface UserRow {
  email: string;
  full_name: string;
  is_active: boolean;
  verified_at: string | null;
  secret: string | null;
}

/** Finishes the sign-in challenge of the request's cookie with a TOTP code or a backup code (already well-formed). */
export async function verifySecondFactor(
  ctx: Context,
  method: SecondFactor,
  code: string,
): Promise<{ user: VerifiedUser; session: NewSession }> {
  const challenge = await takeChallengeAttempt(ctx);
  const { userId } = challenge;
  const { limiter, encrypter } = ctx.services;
  const now = ctx.services.now();
  const refuse = async (outcome: 'failure' | 'blocked', reason: string) => {
    recordLogin(ctx.em, ctx, { userId, method, outcome, reason, now });
    await ctx.em.flush();
  };
  const wrong = async (reason: string) => {
    await refuse('failure', reason);
    const which = method === 'otp' ? 'This code is wrong or was already used' : 'This backup code is wrong or used';
    return new ApiError('INVALID_CREDENTIALS', which, { attemptsLeft: challenge.remaining });
  };

  const [budget, [row]] = await Promise.all([
    limiter.consume('failedSecondFactor', userId),
    ctx.em.getConnection().execute<UserRow[]>(
      `select u.email, u.full_name, u.is_active, u.verified_at, f.secret
         from users u left join two_factors f on f.user_id = u.id and f.confirmed_at is not null
        where u.id = ?`,
      [userId],
    ),
  ]);
  if (!budget.allowed) {
    await refuse('blocked', 'too-many-failures');
    setRateLimitHeaders(ctx.res, budget);
    throw rateLimitError(budget);
  }
  if (!row?.secret) throw await wrong('two-factor-off');

  let session: NewSession | null;
  if (method === 'otp') {
    const step = matchingStep(decryptSecret(encrypter, row.secret), code, now);
    if (step === null) throw await wrong('wrong-code');
    if (!row.is_active) {
      await refuse('failure', 'inactive');
      throw new ApiError('USER_NOT_ACTIVE', 'This account has been deactivated');
    }
    session = await ctx.em.transactional(async (em) =>
      (await acceptStep(em, userId, step, true)) ? completeChallenge(em, ctx, challenge, 'otp') : null,
    );
    if (!session) throw await wrong('replayed');
  } else {
    // A deactivated account's code is spent and then rolled back (the throw): it stays usable.
    const inactive = new ApiError('USER_NOT_ACTIVE', 'This account has been deactivated');
    let spent: NewSession | 'spent' | 'unknown';
    try {
      spent = await ctx.em.transactional(async (em) => {
        const outcome = await spendBackupCode(em, encrypter, userId, code, now);
        if (outcome !== 'used') return outcome;
        if (!row.is_active) throw inactive;
        return completeChallenge(em, ctx, challenge, 'backup');
      });
    } catch (error) {
      if (error === inactive) await refuse('failure', 'inactive');
      throw error;
    }
    if (typeof spent === 'string') throw await wrong(spent === 'spent' ? 'used-code' : 'wrong-code');
    session = spent;
  }

  await limiter.reset('failedSecondFactor', userId);
  const user = { id: userId, email: row.email, fullName: row.full_name, verifiedAt: toDateOrNull(row.verified_at) };
  return { user, session };
}
