import { router } from '../../../server/trpc.js';

export const myInvitesRouter = router({});
