import QRCode from 'qrcode';
import { z } from 'zod';
import { UserSchema } from '../../../entities/user.js';
import { ApiError } from '../../../server/errors.js';
import { sessionProcedure } from '../../../server/trpc.js';
import { requireStepUp, StepUpInput } from '../../shared/step-up.js';
import { BACKUP_CODE_COUNT, replaceBackupCodes } from './backup-codes.js';
import { encryptSecret, newTotpSecret, totpUri } from './totp.js';

/**
 * POST /api/auth/two-factor/enable: a new TOTP secret and ten backup codes, shown once. The factor is
 * pending until confirm succeeds with a first code; enabling again before that replaces the secret and
 * the codes. With two-factor already on it is 409 (disable first, with the password). Step-up: the
 * password, or a sign-in within 10 minutes for an account without one.
 */
export const enableTwoFactor = sessionProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/two-factor/enable',
      tags: ['auth'],
      summary: 'Start enabling two-factor authentication (TOTP)',
    },
    message: 'Scan the QR code, then confirm with a code from your authenticator app',
    rateLimit: ['twoFactor'],
    stepUp: true,
    secret: true,
  })
  .input(StepUpInput.strict())
  .output(
    z.object({
      totpURI: z.string().describe('otpauth:// URI of the secret, for authenticator apps'),
      qrCode: z.string().describe('The URI as a QR code: a PNG data URL'),
      backupCodes: z.array(z.string()).length(BACKUP_CODE_COUNT).describe('Single-use codes, shown only now'),
    }),
  )
  .mutation(async ({ ctx, input }) => {
    const userId = ctx.principal.userId;
    await requireStepUp(ctx, ctx.principal, input.password);
    const now = ctx.services.now();
    const key = newTotpSecret();
    const { email } = await ctx.em.findOneOrFail(UserSchema, { id: userId }, { fields: ['email'] });
    const backupCodes = await ctx.em.transactional(async (em) => {
      // One statement decides, so two concurrent enables cannot both replace a confirmed factor.
      const pending = await em.getConnection().execute<unknown[]>(
        `insert into two_factors (user_id, secret, confirmed_at, last_used_step, created_at, updated_at)
         values (?, ?, null, null, ?, ?)
         on conflict (user_id) do update
           set secret = excluded.secret, last_used_step = null, created_at = excluded.created_at,
               updated_at = excluded.updated_at
         where two_factors.confirmed_at is null
         returning user_id`,
        [userId, encryptSecret(ctx.services.encrypter, key), now, now],
        'all',
        em.getTransactionContext(),
      );
      if (pending.length === 0) {
        throw new ApiError('CONFLICT', 'Two-factor authentication is already on; disable it first to start again');
      }
      return replaceBackupCodes(em, ctx.services.encrypter, userId, now);
    });
    const totpURI = totpUri(ctx.services.config, email, key);
    return { totpURI, qrCode: await QRCode.toDataURL(totpURI), backupCodes };
  });
