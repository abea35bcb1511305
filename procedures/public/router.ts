import { router } from '../../server/trpc.js';
import { health } from './health.js';

export const publicRouter = router({ health });
