import { router } from '../../server/trpc.js';
import { deleteMe } from './me/delete-me.js';
import { exportMe } from './me/export-me.js';
import { getMe } from './me/get-me.js';
import { loginHistory } from './me/login-history.js';
import { updateMe } from './me/update-me.js';
import { myInvitesRouter } from './invites/router.js';
import { oauthClientsRouter } from './oauth-clients/router.js';
import { oauthGrantsRouter } from './oauth-grants/router.js';
import { organizationsRouter } from './organizations/router.js';

export const userRouter = router({
  me: router({ get: getMe, update: updateMe, delete: deleteMe, export: exportMe, loginHistory }),
  invites: myInvitesRouter,
  organizations: organizationsRouter,
  oauthClients: oauthClientsRouter,
  oauthGrants: oauthGrantsRouter,
});
