import { router } from '../../../server/trpc.js';
import { discoverSso } from './discover.js';
import { ssoOidcCallback } from './oidc-callback.js';
import { ssoSamlAcs } from './saml-acs.js';
import { ssoSignIn } from './sign-in.js';
import { ssoSpMetadata } from './sp-metadata.js';
import { startSsoSignInLink } from './start-sign-in.js';

/** Enterprise SSO: discovery, starting a sign-in, the OpenID Connect callback and the SAML ACS. */
export const ssoRouter = router({
  discover: discoverSso,
  signIn: ssoSignIn,
  signInLink: startSsoSignInLink,
  callback: ssoOidcCallback,
  acs: ssoSamlAcs,
  metadata: ssoSpMetadata,
});
