import { router } from '../../../server/trpc.js';
import { createApiKey } from './create-api-key.js';
import { deleteApiKey } from './delete-api-key.js';
import { getApiKey } from './get-api-key.js';
import { listApiKeys } from './list-api-keys.js';
import { rotateApiKey } from './rotate-api-key.js';
import { updateApiKey } from './update-api-key.js';

export const apiKeyRouter = router({
  create: createApiKey,
  list: listApiKeys,
  get: getApiKey,
  update: updateApiKey,
  delete: deleteApiKey,
  rotate: rotateApiKey,
});
