/** POST /api/auth/two-factor/*: TOTP two-factor and backup codes. */
import { router } from '../../../server/trpc.js';
import { confirmTwoFactor } from './confirm-two-factor.js';
import { disableTwoFactor } from './disable-two-factor.js';
import { enableTwoFactor } from './enable-two-factor.js';
import { regenerateBackupCodes } from './regenerate-backup-codes.js';
import { verifyBackupCode } from './verify-backup-code.js';
import { verifyTotp } from './verify-totp.js';

export const twoFactorRouter = router({
  enable: enableTwoFactor,
  confirm: confirmTwoFactor,
  disable: disableTwoFactor,
  backupCodes: regenerateBackupCodes,
  verifyTotp,
  verifyBackupCode,
});
