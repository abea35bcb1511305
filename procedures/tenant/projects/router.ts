import { router } from '../../../server/trpc.js';

export const projectsRouter = router({});
