import { router } from '../../server/trpc.js';
import { publicEventsRouter } from './events/router.js';
import { publicFormsRouter } from './forms/router.js';
import { health } from './health.js';
import { publicWidgetsRouter } from './widgets/router.js';

export const publicRouter = router({
  health,
  forms: publicFormsRouter,
  widgets: publicWidgetsRouter,
  events: publicEventsRouter,
});
