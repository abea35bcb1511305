import { router } from '../../../server/trpc.js';

export const widgetsRouter = router({});
