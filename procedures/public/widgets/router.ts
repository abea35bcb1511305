import { router } from '../../../server/trpc.js';

export const publicWidgetsRouter = router({});
