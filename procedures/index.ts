/** The whole API as one router; each tier is a folder beside this file. */
import { router } from '../server/trpc.js';
import { authRouter } from './auth/router.js';
import { publicRouter } from './public/router.js';
import { tenantRouter } from './tenant/router.js';
import { userRouter } from './user/router.js';
import { webhookRouter } from './webhook/router.js';

export const appRouter = router({
  public: publicRouter,
  auth: authRouter,
  user: userRouter,
  tenant: tenantRouter,
  webhook: webhookRouter,
});

export type AppRouter = typeof appRouter;
