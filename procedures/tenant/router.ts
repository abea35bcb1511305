/** Everything under /api/user/organizations/{organizationId}. */
import { router } from '../../server/trpc.js';
import { invitesRouter } from './invites/router.js';
import { projectsRouter } from './projects/router.js';

export const tenantRouter = router({
  invites: invitesRouter,
  projects: projectsRouter,
});
