import { router } from '../../../server/trpc.js';
import { discoverSso } from './discover.js';

/** Enterprise SSO: discovery, starting a sign-in, the OpenID Connect callback and the SAML ACS. */
export const ssoRouter = router({ discover: discoverSso });
