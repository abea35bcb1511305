import { router } from '../../../server/trpc.js';
import { listAccounts } from '../list-accounts.js';
import { unlinkAccount } from '../unlink-account.js';

/**
 * A user's linked sign-in accounts (social, SSO): list and unlink. Their files are in procedures/auth/
 * itself, as the README's layout rule places /auth/accounts and the group's single sub-route.
 */
export const accountsRouter = router({ list: listAccounts, unlink: unlinkAccount });
