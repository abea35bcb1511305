import { router } from '../../../server/trpc.js';
import { listEvents } from '../events/list-events.js';
import { getStats } from '../stats/get-stats.js';

/** A project's tracked events and their counts; each route's file lives in the folder its path names. */
export const analyticsRouter = router({ events: listEvents, stats: getStats });
