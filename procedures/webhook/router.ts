import { router } from '../../server/trpc.js';
import { stripeWebhook } from './stripe.js';

export const webhookRouter = router({ stripe: stripeWebhook });
