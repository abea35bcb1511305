import { router } from '../../../server/trpc.js';

/** Social sign-in: GET /auth/social/{provider} and its callback. */
export const socialRouter = router({});
