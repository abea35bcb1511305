import { z } from 'zod';
import { GivenPassword } from '../../server/passwords.js';
import { authProcedure } from '../../server/trpc.js';
import { checkPassword } from './check-password.js';
import { Email, iso, SignedIn, TwoFactorRequired, userSummary } from './schemas.js';
import { finishFirstFactor } from './two-factor/challenge.js';

/**
 * POST /api/auth/sign-in/email: 5 a minute per IP (spent before any hashing), then the password
 * rules of check-password.ts; a success starts a new session and sets the cookie, or, for a user with
 * two-factor on, answers `{twoFactorRequired: true}` with the challenge cookie of the second step.
 */
export const signInEmail = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/sign-in/email',
      tags: ['auth'],
      summary: 'Sign in with email and password',
    },
    message: 'Signed in successfully',
    rateLimit: ['signIn'],
  })
  .input(z.strictObject({ email: Email, password: GivenPassword }))
  .output(z.union([SignedIn, TwoFactorRequired]))
  .mutation(async ({ ctx, input }) => {
    const user = await checkPassword(ctx, input.email, input.password);
    const result = await finishFirstFactor(ctx, user.id, 'pwd');
    if (result.twoFactorRequired) return result;
    const { session } = result;
    return { user: userSummary(user), session: { id: session.id, expiresAt: iso(session.expiresAt) } };
  });
