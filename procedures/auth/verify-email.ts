import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { UserSchema } from '../../entities/user.js';
import { userCacheKeys } from '../../server/auth/sessions.js';
import { ApiError } from '../../server/errors.js';
import { authProcedure } from '../../server/trpc.js';
import { endCredentials } from '../shared/end-credentials.js';
import { refuseSsoManagedEmailChange } from '../shared/sso-managed.js';
import { consumeVerification } from './verifications.js';

/**
 * POST /api/auth/verify-email: uses a token from a verification or email-change message. A change
 * of address happens only here, once the new address has proven it receives mail; it ends the links
 * still unused that were mailed to the old address (procedures/shared/end-credentials.ts), unless an
 * organization's required SSO manages the old address (procedures/shared/sso-managed.ts).
 */
export const verifyEmail = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/verify-email',
      tags: ['auth'],
      summary: 'Verify an email address with an emailed token',
    },
    message: 'Email verified successfully',
    errors: ['FORBIDDEN'],
  })
  .input(z.strictObject({ token: z.string().min(1, 'Required').max(256) }))
  .output(z.object({ email: z.string(), isVerified: z.boolean() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    try {
      const { result, stale } = await ctx.em.transactional(async (em) => {
        const token = await consumeVerification(em, input.token, ['verify-email', 'change-email'], now);
        const user = await em.findOneOrFail(UserSchema, { id: token.userId });
        if (token.purpose === 'change-email') {
          // The organization may have required SSO for the old address since the link was sent.
          await refuseSsoManagedEmailChange(em, user.id, user.email);
          user.email = token.email;
        } else if (token.email !== user.email) {
          // The address changed since this message was sent; it proves nothing about the current one.
          throw new ApiError(
            'INVALID_OR_EXPIRED_TOKEN',
            'This link is invalid, expired or already used; request a new one',
          );
        }
        if (token.purpose === 'change-email' || !user.verifiedAt) user.verifiedAt = now;
        user.updatedAt = now;
        await em.flush();
        // Sessions carry the email and its verification: cached ones must be read again.
        const stale = await userCacheKeys(em, user.id);
        // Links mailed to the old address (a password reset) must not outlive its use by the account.
        if (token.purpose === 'change-email') await endCredentials(em, user.id, { emailedLinks: true }, now);
        return { result: { email: user.email, isVerified: true }, stale };
      });
      await ctx.services.credentialCache.forget(stale);
      return result;
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException)
        throw new ApiError('CONFLICT', 'Another account already uses this email address');
      throw error;
    }
  });
