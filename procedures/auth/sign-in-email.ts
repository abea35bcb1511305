/**
 * POST /api/auth/sign-in/email.
 *
 * - One answer, INVALID_CREDENTIALS, for an unknown email and a wrong password; a dummy hash is
 *   verified when there is no account so both take about the same time.
 * - Budgets: 5 a minute per IP (before any hashing), and 10 failures per email in 15 minutes, after
 *   which that email is blocked for 15 minutes; a success clears its failures.
 * - A deactivated account is told so only once its password is proven.
 */
import { z } from 'zod';
import { toDateOrNull } from '../../server/database.js';
import { ApiError } from '../../server/errors.js';
import { GivenPassword, verifyPasswordOrDummy } from '../../server/passwords.js';
import { authProcedure, rateLimitError, setRateLimitHeaders } from '../../server/trpc.js';
import { Email, iso, SignedIn, userSummary } from './schemas.js';
import { recordLogin, startSession } from './start-session.js';

interface CredentialRow {
  id: string;
  email: string;
  full_name: string;
  is_active: boolean;
  verified_at: string | null;
  password_hash: string | null;
}

export const signInEmail = authProcedure
  .meta({
    openapi: { method: 'POST', path: '/auth/sign-in/email', tags: ['auth'], summary: 'Sign in with email and password' },
    message: 'Signed in successfully',
    rateLimit: ['signIn'],
  })
  .input(z.strictObject({ email: Email, password: GivenPassword }))
  .output(SignedIn)
  .mutation(async ({ ctx, input }) => {
    const { limiter, config } = ctx.services;
    const now = ctx.services.now();
    const failures = await limiter.peek('failedSignIn', input.email);
    const [account] = await ctx.em.getConnection().execute<CredentialRow[]>(
      `select u.id, u.email, u.full_name, u.is_active, u.verified_at, a.password_hash
         from users u left join accounts a on a.user_id = u.id and a.provider_id = 'credential'
        where u.email = ?`,
      [input.email],
    );

    if (failures && failures.remaining === 0) {
      if (account) {
        recordLogin(ctx.em, ctx, { userId: account.id, outcome: 'blocked', reason: 'too-many-failures', now });
        await ctx.em.flush();
      }
      const blocked = { ...failures, allowed: false };
      setRateLimitHeaders(ctx.res, blocked);
      throw rateLimitError(blocked);
    }

    if (!(await verifyPasswordOrDummy(account?.password_hash, input.password))) {
      const spent = await limiter.consume('failedSignIn', input.email);
      if (spent.remaining === 0) await limiter.block('failedSignIn', input.email, config.budgets.failedSignIn.blockDuration ?? config.budgets.failedSignIn.duration);
      if (account) {
        recordLogin(ctx.em, ctx, { userId: account.id, outcome: 'failure', reason: 'wrong-password', now });
        await ctx.em.flush();
      }
      throw new ApiError('INVALID_CREDENTIALS', 'Invalid email or password');
    }
    const user = account!;
    if (!user.is_active) {
      recordLogin(ctx.em, ctx, { userId: user.id, outcome: 'failure', reason: 'inactive', now });
      await ctx.em.flush();
      throw new ApiError('USER_NOT_ACTIVE', 'This account has been deactivated');
    }

    await limiter.reset('failedSignIn', input.email);
    const session = await ctx.em.transactional((em) => startSession(em, ctx, user.id, now));
    return {
      user: userSummary({ id: user.id, email: user.email, fullName: user.full_name, verifiedAt: toDateOrNull(user.verified_at) }),
      session: { id: session.id, expiresAt: iso(session.expiresAt) },
    };
  });
