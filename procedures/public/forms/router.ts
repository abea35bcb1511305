import { router } from '../../../server/trpc.js';

export const publicFormsRouter = router({});
