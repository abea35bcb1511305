/** /api/user/organizations/{organizationId}/mfa: the organization's MFA policy and who complies. */
import { router } from '../../../server/trpc.js';

export const mfaRouter = router({});
