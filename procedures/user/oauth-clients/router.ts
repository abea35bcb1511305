import { router } from '../../../server/trpc.js';
import { createOAuthClient } from './create-oauth-client.js';
import { deleteOAuthClient } from './delete-oauth-client.js';
import { getOAuthClient } from './get-oauth-client.js';
import { listOAuthClients } from './list-oauth-clients.js';
import { rotateClientSecret } from './rotate-client-secret.js';
import { updateOAuthClient } from './update-oauth-client.js';

export const oauthClientsRouter = router({
  list: listOAuthClients,
  create: createOAuthClient,
  get: getOAuthClient,
  update: updateOAuthClient,
  delete: deleteOAuthClient,
  rotateSecret: rotateClientSecret,
});
