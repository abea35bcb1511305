import { router } from '../../../server/trpc.js';

export const paymentsRouter = router({});
