import { router } from '../../../server/trpc.js';
import { createOrganization } from './create-organization.js';
import { listOrganizations } from './list-organizations.js';

export const organizationsRouter = router({ list: listOrganizations, create: createOrganization });
