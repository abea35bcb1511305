/** POST /api/auth/two-factor/*: TOTP two-factor and backup codes. */
import { router } from '../../../server/trpc.js';

export const twoFactorRouter = router({});
