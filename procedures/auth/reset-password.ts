import { z } from 'zod';
import { AccountSchema, UserSchema } from '../../entities/user.js';
import { newId } from '../../server/ids.js';
import { hashPassword, NewPassword } from '../../server/passwords.js';
import { authProcedure } from '../../server/trpc.js';
import { endCredentials } from '../shared/end-credentials.js';
import { clearFailedSignIns } from './check-password.js';
import { consumeVerification, invalidToken, isLiveVerification } from './verifications.js';

/**
 * POST /api/auth/reset-password: a new password from an emailed token.
 *
 * - The link reached the address, so it proves the address as a verification link would: an
 *   unverified account becomes verified (when the token was sent to its current address).
 * - Whoever held the account before may have left credentials behind (an account registered with
 *   someone else's address, a stolen password): every session, API key, OAuth grant with its tokens,
 *   unused emailed link (a pending email change) and pending invitation the user sent ends in the
 *   same transaction (procedures/shared/end-credentials.ts).
 * - The address's failed sign-ins are cleared, so an owner locked out by someone guessing can sign in.
 */
export const resetPassword = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/reset-password',
      tags: ['auth'],
      summary: 'Set a new password with a reset token',
    },
    message: 'Password reset successfully',
  })
  .input(z.strictObject({ token: z.string().min(1, 'Required').max(256), password: NewPassword }))
  .output(z.object({ revokedSessions: z.number().int() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    // Check first so that a bad token costs no password hash.
    if (!(await isLiveVerification(ctx.em, input.token, 'reset-password', now))) throw invalidToken();
    const passwordHash = await hashPassword(input.password);
    const { email, ended } = await ctx.em.transactional(async (em) => {
      const token = await consumeVerification(em, input.token, ['reset-password'], now);
      const user = await em.findOneOrFail(UserSchema, { id: token.userId });
      if (!user.verifiedAt && token.email === user.email) {
        user.verifiedAt = now;
        user.updatedAt = now;
      }
      const account = await em.findOne(AccountSchema, { userId: user.id, providerId: 'credential' });
      if (account) {
        account.passwordHash = passwordHash;
        account.updatedAt = now;
      } else {
        em.persist(
          em.create(AccountSchema, {
            id: newId(),
            userId: user.id,
            providerId: 'credential',
            passwordHash,
            createdAt: now,
            updatedAt: now,
          }),
        );
      }
      await em.flush();
      const actor = {
        principal: { userId: user.id, kind: 'emailed-link' as const },
        ip: ctx.ip,
        userAgent: ctx.userAgent,
      };
      const ended = await endCredentials(
        em,
        user.id,
        {
          sessions: 'all',
          apiKeys: true,
          oauthGrants: true,
          emailedLinks: true,
          invites: { actor, reason: 'password-reset' },
        },
        now,
      );
      return { email: user.email, ended };
    });
    await ctx.services.credentialCache.forget(ended.cacheKeys);
    await clearFailedSignIns(ctx.services.limiter, email, ctx.ip);
    return { revokedSessions: ended.revokedSessions };
  });
