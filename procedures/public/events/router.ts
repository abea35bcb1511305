import { router } from '../../../server/trpc.js';
import { track } from './track.js';

export const publicEventsRouter = router({ track });
