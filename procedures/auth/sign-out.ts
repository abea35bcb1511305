import { z } from 'zod';
import { clearedSessionCookie, revokeSessions } from '../../server/auth/sessions.js';
import { authProcedure } from '../../server/trpc.js';

/** POST /api/auth/sign-out: revokes the current session (if any) and clears the cookie. */
export const signOut = authProcedure
  .meta({
    openapi: { method: 'POST', path: '/auth/sign-out', tags: ['auth'], summary: 'Sign out' },
    message: 'Signed out successfully',
  })
  .input(z.strictObject({}))
  .output(z.object({ signedOut: z.boolean() }))
  .mutation(async ({ ctx }) => {
    // A cross-site page must not be able to sign people out either.
    if (ctx.authError?.apiCode === 'CSRF_REJECTED') throw ctx.authError;
    const sessionId = ctx.principal?.sessionId;
    if (sessionId && ctx.principal) {
      await ctx.services.credentialCache.forget(
        await revokeSessions(ctx.em, { userId: ctx.principal.userId, id: sessionId }, ctx.services.now()),
      );
    }
    ctx.setCookie(clearedSessionCookie(ctx.services.config));
    return { signedOut: sessionId !== undefined };
  });
