import { z } from 'zod';
import { GivenPassword } from '../../server/passwords.js';
import { authProcedure } from '../../server/trpc.js';
import { checkPassword } from './check-password.js';
import { Email, iso, SignedIn, userSummary } from './schemas.js';
import { startSession } from './start-session.js';

/**
 * POST /api/auth/sign-in/email: 5 a minute per IP (spent before any hashing), then the password
 * rules of check-password.ts; a success starts a new session and sets the cookie.
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
  .output(SignedIn)
  .mutation(async ({ ctx, input }) => {
    const user = await checkPassword(ctx, input.email, input.password);
    const session = await ctx.em.transactional((em) => startSession(em, ctx, user.id, ctx.services.now()));
    return { user: userSummary(user), session: { id: session.id, expiresAt: iso(session.expiresAt) } };
  });
