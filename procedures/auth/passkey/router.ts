/** /api/auth/passkey/*: passkeys (WebAuthn). */
import { router } from '../../../server/trpc.js';

export const passkeyRouter = router({});
