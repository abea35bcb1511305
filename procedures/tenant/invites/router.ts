import { router } from '../../../server/trpc.js';
import { createInvite } from './create-invite.js';
import { listInvites } from './list-invites.js';
import { resendInvite } from './resend-invite.js';
import { revokeInvite } from './revoke-invite.js';

export const invitesRouter = router({
  list: listInvites,
  create: createInvite,
  revoke: revokeInvite,
  resend: resendInvite,
});
