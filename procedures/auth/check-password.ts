/**
 * Email + password verification shared by POST /api/auth/sign-in/email and the OAuth sign-in page.
 *
 * - One answer, INVALID_CREDENTIALS, for an unknown email and a wrong password; a dummy hash is
 *   verified when there is no account so both take about the same time.
 * - 10 failures per email in 15 minutes block that email for 15 minutes (429); a success clears them.
 * - A deactivated account is told so only once its password is proven.
 * - Failures on a known account are recorded in its sign-in history.
 */
import type { Context } from '../../server/context.js';
import { toDateOrNull } from '../../server/database.js';
import { ApiError } from '../../server/errors.js';
import { verifyPasswordOrDummy } from '../../server/passwords.js';
import { rateLimitError, setRateLimitHeaders } from '../../server/trpc.js';
import { recordLogin } from './start-session.js';

export interface VerifiedUser {
  id: string;
  email: string;
  fullName: string;
  verifiedAt: Date | null;
}

interface CredentialRow {
  id: string;
  email: string;
  full_name: string;
  is_active: boolean;
  verified_at: string | null;
  password_hash: string | null;
}

export async function checkPassword(ctx: Context, email: string, password: string): Promise<VerifiedUser> {
  const { limiter, config } = ctx.services;
  const now = ctx.services.now();
  const failures = await limiter.peek('failedSignIn', email);
  const [account] = await ctx.em.getConnection().execute<CredentialRow[]>(
    `select u.id, u.email, u.full_name, u.is_active, u.verified_at, a.password_hash
       from users u left join accounts a on a.user_id = u.id and a.provider_id = 'credential'
      where u.email = ?`,
    [email],
  );
  const fail = async (outcome: 'failure' | 'blocked', reason: string) => {
    if (!account) return;
    recordLogin(ctx.em, ctx, { userId: account.id, outcome, reason, now });
    await ctx.em.flush();
  };

  if (failures && failures.remaining === 0) {
    await fail('blocked', 'too-many-failures');
    const blocked = { ...failures, allowed: false };
    setRateLimitHeaders(ctx.res, blocked);
    throw rateLimitError(blocked);
  }
  if (!(await verifyPasswordOrDummy(account?.password_hash, password))) {
    const spent = await limiter.consume('failedSignIn', email);
    if (spent.remaining === 0) {
      await limiter.block('failedSignIn', email, config.budgets.failedSignIn.blockDuration ?? config.budgets.failedSignIn.duration);
    }
    await fail('failure', 'wrong-password');
    throw new ApiError('INVALID_CREDENTIALS', 'Invalid email or password');
  }
  const user = account!;
  if (!user.is_active) {
    await fail('failure', 'inactive');
    throw new ApiError('USER_NOT_ACTIVE', 'This account has been deactivated');
  }
  await limiter.reset('failedSignIn', email);
  return { id: user.id, email: user.email, fullName: user.full_name, verifiedAt: toDateOrNull(user.verified_at) };
}
