import { router } from '../../../server/trpc.js';

/** A user's linked sign-in accounts (social, SSO): list and unlink. */
export const accountsRouter = router({});
