import { router } from '../../../server/trpc.js';
import { listOAuthGrants } from './list-oauth-grants.js';
import { revokeOAuthGrant } from './revoke-oauth-grant.js';

export const oauthGrantsRouter = router({
  list: listOAuthGrants,
  revoke: revokeOAuthGrant,
});
