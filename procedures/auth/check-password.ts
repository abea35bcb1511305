/**
 * Email + password verification shared by POST /api/auth/sign-in/email and the OAuth sign-in page.
 *
 * - One answer, INVALID_CREDENTIALS, for an unknown email and a wrong password; a dummy hash is
 *   verified when there is no account so both take about the same time.
 * - Every attempt spends a point of two failed-sign-in budgets before the password is hashed, with an
 *   atomic consume: of any number of concurrent guesses only as many as the budgets allow are checked,
 *   the rest get 429 without hashing. A success refunds its points.
 *   - `failedSignIn`, keyed by email and client address (/64 for IPv6): 10 in 15 minutes, then that
 *     pair is blocked for 15 minutes. A success from the pair clears it.
 *   - `failedSignInEmail`, keyed by email alone: a higher ceiling (100 in 15 minutes) against guessing
 *     spread over many hosts. An attacker elsewhere therefore cannot lock the owner out with a handful
 *     of wrong passwords; reaching the ceiling takes a hundred, and a password reset through the
 *     emailed link clears it (reset-password.ts).
 * - A deactivated account is told so only once its password is proven.
 * - Attempts on a known account, refused ones included, are recorded in its sign-in history.
 */
import type { Context } from '../../server/context.js';
import { toDateOrNull } from '../../server/database.js';
import { ApiError } from '../../server/errors.js';
import { verifyPasswordOrDummy } from '../../server/passwords.js';
import type { RateLimiter } from '../../server/rate-limit.js';
import { clientKey } from '../../server/rate-limit.js';
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

/** The key of the per-client failed-sign-in budget. */
const pairKey = (email: string, ip: string) => `${clientKey(ip)}|${email}`;

/** Clears an address's failed sign-ins: the ceiling, and the pair of the client that proved itself. */
export async function clearFailedSignIns(limiter: RateLimiter, email: string, ip: string): Promise<void> {
  await Promise.all([limiter.reset('failedSignIn', pairKey(email, ip)), limiter.reset('failedSignInEmail', email)]);
}

export async function checkPassword(ctx: Context, email: string, password: string): Promise<VerifiedUser> {
  const { limiter } = ctx.services;
  const now = ctx.services.now();
  const pair = pairKey(email, ctx.ip);
  const [spent, [account]] = await Promise.all([
    Promise.all([limiter.consume('failedSignIn', pair), limiter.consume('failedSignInEmail', email)]),
    ctx.em.getConnection().execute<CredentialRow[]>(
      `select u.id, u.email, u.full_name, u.is_active, u.verified_at, a.password_hash
         from users u left join accounts a on a.user_id = u.id and a.provider_id = 'credential'
        where u.email = ?`,
      [email],
    ),
  ]);
  const record = async (outcome: 'failure' | 'blocked', reason: string) => {
    if (!account) return;
    recordLogin(ctx.em, ctx, { userId: account.id, method: 'pwd', outcome, reason, now });
    await ctx.em.flush();
  };

  const refused = spent.find((result) => !result.allowed);
  if (refused) {
    await record('blocked', 'too-many-failures');
    setRateLimitHeaders(ctx.res, refused);
    throw rateLimitError(refused);
  }
  if (!(await verifyPasswordOrDummy(account?.password_hash, password))) {
    await record('failure', 'wrong-password');
    throw new ApiError('INVALID_CREDENTIALS', 'Invalid email or password');
  }
  const user = account!;
  if (!user.is_active) {
    await record('failure', 'inactive');
    throw new ApiError('USER_NOT_ACTIVE', 'This account has been deactivated');
  }
  // This client proved itself: its own counter starts again; the ceiling only gets this attempt back.
  await Promise.all([limiter.reset('failedSignIn', pair), limiter.refund('failedSignInEmail', email)]);
  return { id: user.id, email: user.email, fullName: user.full_name, verifiedAt: toDateOrNull(user.verified_at) };
}
