import { z } from 'zod';
import { authProcedure } from '../../../server/trpc.js';
import { iso, SignedIn, userSummary } from '../schemas.js';
import { BackupCodeInput } from './backup-codes.js';
import { verifySecondFactor } from './second-factor.js';

/**
 * POST /api/auth/two-factor/verify-backup-code: the second step of a sign-in with one of the backup
 * codes (with or without its dash, any case), which is then used up. Rules in second-factor.ts.
 */
export const verifyBackupCode = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/two-factor/verify-backup-code',
      tags: ['auth'],
      summary: 'Finish signing in with a backup code',
    },
    message: 'Signed in successfully',
    rateLimit: ['twoFactor'],
    errors: ['INVALID_CREDENTIALS', 'INVALID_OR_EXPIRED_TOKEN', 'USER_NOT_ACTIVE'],
  })
  .input(z.strictObject({ code: BackupCodeInput }))
  .output(SignedIn)
  .mutation(async ({ ctx, input }) => {
    const { user, session } = await verifySecondFactor(ctx, 'backup', input.code);
    return { user: userSummary(user), session: { id: session.id, expiresAt: iso(session.expiresAt) } };
  });
