import { z } from 'zod';
import { AccountSchema } from '../../entities/user.js';
import { revokeSessions } from '../../server/auth/sessions.js';
import { newId } from '../../server/ids.js';
import { hashPassword, NewPassword } from '../../server/passwords.js';
import { authProcedure } from '../../server/trpc.js';
import { consumeVerification, invalidToken, isLiveVerification } from './verifications.js';

/** POST /api/auth/reset-password: a new password from an emailed token; every session of the user ends. */
export const resetPassword = authProcedure
  .meta({ openapi: { method: 'POST', path: '/auth/reset-password', tags: ['auth'], summary: 'Set a new password with a reset token' }, message: 'Password reset successfully' })
  .input(z.strictObject({ token: z.string().min(1, 'Required').max(256), password: NewPassword }))
  .output(z.object({ revokedSessions: z.number().int() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    // Check first so that a bad token costs no password hash.
    if (!(await isLiveVerification(ctx.em, input.token, 'reset-password', now))) throw invalidToken();
    const passwordHash = await hashPassword(input.password);
    const revoked = await ctx.em.transactional(async (em) => {
      const { userId } = await consumeVerification(em, input.token, ['reset-password'], now);
      const account = await em.findOne(AccountSchema, { userId, providerId: 'credential' });
      if (account) {
        account.passwordHash = passwordHash;
        account.updatedAt = now;
      } else {
        em.persist(em.create(AccountSchema, { id: newId(), userId, providerId: 'credential', passwordHash, createdAt: now, updatedAt: now }));
      }
      await em.flush();
      return revokeSessions(em, { userId }, now);
    });
    await ctx.services.credentialCache.forget(revoked);
    return { revokedSessions: revoked.length };
  });
