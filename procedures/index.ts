/** The whole API as one router; each tier is a folder beside this file. */
import { router } from '../server/trpc.js';
import { publicRouter } from './public/router.js';

export const appRouter = router({
  public: publicRouter,
});

export type AppRouter = typeof appRouter;
