/** /api/auth/passkey/*: passkeys (WebAuthn). */
import { router } from '../../../server/trpc.js';
import { authenticateOptions } from './authenticate-options.js';
import { authenticateVerify } from './authenticate-verify.js';
import { deletePasskey } from './delete-passkey.js';
import { listPasskeys } from './list-passkeys.js';
import { registerOptions } from './register-options.js';
import { registerVerify } from './register-verify.js';

export const passkeyRouter = router({
  registerOptions,
  registerVerify,
  list: listPasskeys,
  delete: deletePasskey,
  authenticateOptions,
  authenticateVerify,
});
