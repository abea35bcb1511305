import { router } from '../../../server/trpc.js';
import { socialCallback } from './social-callback.js';
import { startSocial } from './start-social.js';

/** Social sign-in: GET /auth/social/{provider} and its callback. */
export const socialRouter = router({ start: startSocial, callback: socialCallback });
