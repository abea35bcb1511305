import { z } from 'zod';
import { clearedSessionCookie, revokeSessions } from '../../server/auth/sessions.js';
import { ApiError } from '../../server/errors.js';
import { ULID_PATTERN } from '../../server/ids.js';
import { sessionProcedure } from '../../server/trpc.js';

/** POST /api/auth/revoke-session: ends one of my sessions (another user's id is simply not found). */
export const revokeSession = sessionProcedure
  .meta({
    openapi: { method: 'POST', path: '/auth/revoke-session', tags: ['auth'], summary: 'End one of my sessions' },
    message: 'Session revoked successfully',
  })
  .input(z.strictObject({ id: z.string().regex(ULID_PATTERN, 'Must be a session id') }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const revoked = await revokeSessions(ctx.em, { userId: ctx.principal.userId, id: input.id }, ctx.services.now());
    await ctx.services.credentialCache.forget(revoked);
    if (revoked.length === 0) throw new ApiError('NOT_FOUND', 'No active session of yours has this id');
    if (input.id === ctx.principal.sessionId) ctx.setCookie(clearedSessionCookie(ctx.services.config));
    return { id: input.id };
  });
