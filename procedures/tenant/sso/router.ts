import { router } from '../../../server/trpc.js';

/** The organization's SSO connections and domains: /settings/sso. */
export const ssoSettingsRouter = router({});
