import { router } from '../../../server/trpc.js';

export const analyticsRouter = router({});
