import { z } from 'zod';
import { revokeSessions } from '../../server/auth/sessions.js';
import { GivenPassword, hashPassword, NewPassword } from '../../server/passwords.js';
import { sessionProcedure } from '../../server/trpc.js';
import { requirePassword } from './password-check.js';

/** POST /api/auth/change-password: needs the current password; every other session ends. */
export const changePassword = sessionProcedure
  .meta({ openapi: { method: 'POST', path: '/auth/change-password', tags: ['auth'], summary: 'Change my password' }, message: 'Password changed successfully' })
  .input(z.strictObject({ currentPassword: GivenPassword, newPassword: NewPassword }))
  .output(z.object({ revokedSessions: z.number().int() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const account = await requirePassword(ctx.em, ctx.principal.userId, input.currentPassword);
    const passwordHash = await hashPassword(input.newPassword);
    const revoked = await ctx.em.transactional(async (em) => {
      account.passwordHash = passwordHash;
      account.updatedAt = now;
      em.persist(account);
      await em.flush();
      return revokeSessions(em, { userId: ctx.principal.userId, except: ctx.principal.sessionId }, now);
    });
    await ctx.services.credentialCache.forget(revoked);
    return { revokedSessions: revoked.length };
  });
