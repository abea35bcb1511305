/** /api/auth/magic-link/*: sign-in by emailed link. */
import { router } from '../../../server/trpc.js';
import { sendMagicLink } from './send.js';
import { verifyMagicLink } from './verify.js';

export const magicLinkRouter = router({ send: sendMagicLink, verify: verifyMagicLink });
