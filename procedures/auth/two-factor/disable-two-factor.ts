import { z } from 'zod';
import { BackupCodeSchema, TwoFactorSchema } from '../../../entities/two-factor.js';
import { userCacheKeys } from '../../../server/auth/sessions.js';
import { ApiError } from '../../../server/errors.js';
import { sessionProcedure } from '../../../server/trpc.js';
import { requireStepUp, StepUpInput } from '../../shared/step-up.js';

/**
 * POST /api/auth/two-factor/disable: removes the authenticator and the backup codes, after step-up (the
 * password, or a sign-in within 10 minutes for an account without one); 409 when two-factor is off.
 * Cached memberships are dropped: an organization's MFA policy may now shut the member out.
 */
export const disableTwoFactor = sessionProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/two-factor/disable',
      tags: ['auth'],
      summary: 'Turn two-factor off',
    },
    message: 'Two-factor authentication disabled',
    rateLimit: ['twoFactor'],
    stepUp: true,
  })
  .input(StepUpInput.strict())
  .output(z.object({ enabled: z.literal(false) }))
  .mutation(async ({ ctx, input }) => {
    const userId = ctx.principal.userId;
    await requireStepUp(ctx, ctx.principal, input.password);
    const removed = await ctx.em.transactional(async (em) => {
      await em.nativeDelete(BackupCodeSchema, { userId });
      return em.nativeDelete(TwoFactorSchema, { userId });
    });
    if (removed === 0) throw new ApiError('CONFLICT', 'Two-factor authentication is not on');
    await ctx.services.credentialCache.forget(await userCacheKeys(ctx.em, userId));
    return { enabled: false as const };
  });
