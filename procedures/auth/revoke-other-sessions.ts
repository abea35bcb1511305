import { z } from 'zod';
import { revokeSessions } from '../../server/auth/sessions.js';
import { sessionProcedure } from '../../server/trpc.js';

/** POST /api/auth/revoke-other-sessions: signs out everywhere but here. */
export const revokeOtherSessions = sessionProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/revoke-other-sessions',
      tags: ['auth'],
      summary: 'End all my other sessions',
    },
    message: 'Other sessions revoked successfully',
  })
  .input(z.strictObject({}))
  .output(z.object({ revokedSessions: z.number().int() }))
  .mutation(async ({ ctx }) => {
    const revoked = await revokeSessions(
      ctx.em,
      { userId: ctx.principal.userId, except: ctx.principal.sessionId },
      ctx.services.now(),
    );
    await ctx.services.credentialCache.forget(revoked);
    return { revokedSessions: revoked.length };
  });
