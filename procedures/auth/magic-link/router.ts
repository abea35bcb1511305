/** /api/auth/magic-link/*: sign-in by emailed link. */
import { router } from '../../../server/trpc.js';

export const magicLinkRouter = router({});
