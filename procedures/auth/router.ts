import { router } from '../../server/trpc.js';
import { accountsRouter } from './accounts/router.js';
import { apiKeyRouter } from './api-key/router.js';
import { changeEmail } from './change-email.js';
import { changePassword } from './change-password.js';
import { forgotPassword } from './forgot-password.js';
import { getSession } from './get-session.js';
import { identify } from './identify.js';
import { listSessions } from './list-sessions.js';
import { magicLinkRouter } from './magic-link/router.js';
import { passkeyRouter } from './passkey/router.js';
import { resetPassword } from './reset-password.js';
import { revokeOtherSessions } from './revoke-other-sessions.js';
import { revokeSession } from './revoke-session.js';
import { sendVerificationEmail } from './send-verification-email.js';
import { signInEmail } from './sign-in-email.js';
import { signOut } from './sign-out.js';
import { signUpEmail } from './sign-up-email.js';
import { socialRouter } from './social/router.js';
import { ssoRouter } from './sso/router.js';
import { twoFactorRouter } from './two-factor/router.js';
import { verifyEmail } from './verify-email.js';

export const authRouter = router({
  signUpEmail,
  signInEmail,
  signOut,
  session: getSession,
  verifyEmail,
  sendVerificationEmail,
  identify,
  forgotPassword,
  resetPassword,
  sessions: listSessions,
  revokeSession,
  revokeOtherSessions,
  changePassword,
  changeEmail,
  apiKey: apiKeyRouter,
  twoFactor: twoFactorRouter,
  passkey: passkeyRouter,
  magicLink: magicLinkRouter,
  social: socialRouter,
  sso: ssoRouter,
  accounts: accountsRouter,
});
