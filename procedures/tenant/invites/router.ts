import { router } from '../../../server/trpc.js';

export const invitesRouter = router({});
