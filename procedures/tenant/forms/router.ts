import { router } from '../../../server/trpc.js';

export const formsRouter = router({});
