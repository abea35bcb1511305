import { router } from '../../../server/trpc.js';
import { createCheckout } from './create-checkout.js';
import { getSubscription } from './get-subscription.js';
import { listInvoices } from './list-invoices.js';
import { openPortal } from './open-portal.js';

export const paymentsRouter = router({
  checkout: createCheckout,
  portal: openPortal,
  subscription: getSubscription,
  history: listInvoices,
});
