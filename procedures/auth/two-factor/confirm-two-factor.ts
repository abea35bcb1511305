import { z } from 'zod';
import { TwoFactorSchema } from '../../../entities/two-factor.js';
import { userCacheKeys } from '../../../server/auth/sessions.js';
import { ApiError } from '../../../server/errors.js';
import { sessionProcedure } from '../../../server/trpc.js';
import { acceptStep, decryptSecret, matchingStep, TotpCode } from './totp.js';

/**
 * POST /api/auth/two-factor/confirm: turns two-factor on once the user proves the authenticator holds
 * the secret from enable: a current code (its step is recorded, so it cannot be used again to sign in).
 * A wrong code is 401 INVALID_CREDENTIALS; nothing pending is 409. Cached memberships are dropped: the
 * organization MFA policy reads the member's second factors through them.
 */
export const confirmTwoFactor = sessionProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/two-factor/confirm',
      tags: ['auth'],
      summary: 'Turn two-factor on with a first code',
    },
    message: 'Two-factor authentication enabled',
    rateLimit: ['twoFactor'],
    errors: ['INVALID_CREDENTIALS'],
  })
  .input(z.strictObject({ code: TotpCode }))
  .output(z.object({ enabled: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    const userId = ctx.principal.userId;
    const pending = await ctx.em.findOne(TwoFactorSchema, { userId }, { fields: ['secret', 'confirmedAt'] });
    if (!pending || pending.confirmedAt) {
      throw new ApiError(
        'CONFLICT',
        pending ? 'Two-factor authentication is already on' : 'Nothing to confirm: call /auth/two-factor/enable first',
      );
    }
    const now = ctx.services.now();
    const step = matchingStep(decryptSecret(ctx.services.encrypter, pending.secret), input.code, now);
    if (step === null) throw new ApiError('INVALID_CREDENTIALS', 'This code is wrong; check the clock of your device');
    const confirmed = await ctx.em.transactional(async (em) => {
      if (!(await acceptStep(em, userId, step, false))) return false;
      return (await em.nativeUpdate(TwoFactorSchema, { userId, confirmedAt: null }, { confirmedAt: now })) === 1;
    });
    if (!confirmed) throw new ApiError('CONFLICT', 'Two-factor authentication changed meanwhile; try again');
    await ctx.services.credentialCache.forget(await userCacheKeys(ctx.em, userId));
    return { enabled: true as const };
  });
