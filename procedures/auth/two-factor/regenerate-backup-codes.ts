import { z } from 'zod';
import { ApiError } from '../../../server/errors.js';
import { sessionProcedure } from '../../../server/trpc.js';
import { requireStepUp, StepUpInput } from '../../shared/step-up.js';
import { BACKUP_CODE_COUNT, replaceBackupCodes } from './backup-codes.js';

/**
 * POST /api/auth/two-factor/backup-codes: ten new backup codes, shown once; the old set stops working.
 * Step-up as for disable; 409 when two-factor is off.
 */
export const regenerateBackupCodes = sessionProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/two-factor/backup-codes',
      tags: ['auth'],
      summary: 'Replace the backup codes',
    },
    message: 'New backup codes created; the old ones no longer work',
    rateLimit: ['twoFactor'],
    stepUp: true,
    secret: true,
  })
  .input(StepUpInput.strict())
  .output(z.object({ backupCodes: z.array(z.string()).length(BACKUP_CODE_COUNT) }))
  .mutation(async ({ ctx, input }) => {
    const userId = ctx.principal.userId;
    await requireStepUp(ctx, ctx.principal, input.password);
    const backupCodes = await ctx.em.transactional(async (em) => {
      // Locks the factor, so a concurrent disable cannot leave codes without it.
      const [on] = await em
        .getConnection()
        .execute<unknown[]>(
          'select 1 from two_factors where user_id = ? and confirmed_at is not null for update',
          [userId],
          'all',
          em.getTransactionContext(),
        );
      if (!on) throw new ApiError('CONFLICT', 'Two-factor authentication is not on');
      return replaceBackupCodes(em, ctx.services.encrypter, userId, ctx.services.now());
    });
    return { backupCodes };
  });
