/** /api/user/organizations/{organizationId}/mfa: the organization's MFA policy and who complies. */
import { router } from '../../../server/trpc.js';
import { getMfaPolicy } from './get-mfa-policy.js';
import { listMfaCompliance } from './list-mfa-compliance.js';
import { updateMfaPolicy } from './update-mfa-policy.js';

export const mfaRouter = router({ get: getMfaPolicy, update: updateMfaPolicy, compliance: listMfaCompliance });
