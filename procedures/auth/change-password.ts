import { z } from 'zod';
import { GivenPassword, hashPassword, NewPassword } from '../../server/passwords.js';
import { sessionProcedure } from '../../server/trpc.js';
import { endCredentials } from '../shared/end-credentials.js';
import { requirePassword } from './password-check.js';

/**
 * POST /api/auth/change-password: needs the current password. Every other session ends, and so do
 * every app's OAuth access (its grant, refresh tokens and access tokens) and unused emailed links (a
 * pending email change): a password is changed when it may be known to someone else, who may have
 * used it to sign in, to authorize an app or to move the account to another address.
 */
export const changePassword = sessionProcedure
  .meta({
    openapi: { method: 'POST', path: '/auth/change-password', tags: ['auth'], summary: 'Change my password' },
    message: 'Password changed successfully',
  })
  .input(z.strictObject({ currentPassword: GivenPassword, newPassword: NewPassword }))
  .output(z.object({ revokedSessions: z.number().int() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const account = await requirePassword(ctx.em, ctx.principal.userId, input.currentPassword);
    const passwordHash = await hashPassword(input.newPassword);
    const ended = await ctx.em.transactional(async (em) => {
      account.passwordHash = passwordHash;
      account.updatedAt = now;
      em.persist(account);
      await em.flush();
      return endCredentials(
        em,
        ctx.principal.userId,
        { sessions: { except: ctx.principal.sessionId }, oauthGrants: true, emailedLinks: true },
        now,
      );
    });
    await ctx.services.credentialCache.forget(ended.cacheKeys);
    return { revokedSessions: ended.revokedSessions };
  });
