import { router } from '../../server/trpc.js';

export const webhookRouter = router({});
