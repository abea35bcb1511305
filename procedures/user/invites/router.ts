import { router } from '../../../server/trpc.js';
import { acceptInvite } from './accept-invite.js';
import { listMyInvites } from './list-my-invites.js';

export const myInvitesRouter = router({ list: listMyInvites, accept: acceptInvite });
