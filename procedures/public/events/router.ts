import { router } from '../../../server/trpc.js';

export const publicEventsRouter = router({});
