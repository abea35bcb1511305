/**
 * Billing fixtures: the service pointed at a Stripe stand-in, beside the same service without a
 * Stripe key, and owners of new organizations.
 *
 *   const billing = await startBilling();        // billing.stripe, billing.app, billing.bare
 *   const ada = await owner(billing.app);         // signed up, with the organization it got
 */
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from './app.js';
import { signUp, type SignedUp } from './identity.js';
import { startStripeStandIn, type StripeStandIn } from './stripe-stand-in.js';
import { defaultOrganizationId } from './tenancy.js';

/** Where the browser returns from Stripe: APP_URL's origin is trusted. */
export const APP_URL = 'https://app.example.com';

/** The prices the stand-in knows, as the catalogue's variables name them (business has no yearly price). */
export const PRICES = {
  STRIPE_PRICE_PRO_MONTH: 'price_pro_month',
  STRIPE_PRICE_PRO_YEAR: 'price_pro_year',
  STRIPE_PRICE_BUSINESS_MONTH: 'price_business_month',
};

const BUDGETS = { RATE_LIMIT_SIGN_UP_POINTS: '200', RATE_LIMIT_GLOBAL_POINTS: '5000' };

export interface Billing {
  stripe: StripeStandIn;
  /** The service with STRIPE_SECRET_KEY and STRIPE_API_BASE pointing at the stand-in. */
  app: TestApp;
  /** The same service without STRIPE_SECRET_KEY. */
  bare: TestApp;
  close(): Promise<void>;
}

export async function startBilling(): Promise<Billing> {
  const stripe = await startStripeStandIn({ prices: Object.values(PRICES) });
  const [app, bare] = await Promise.all([
    startTestApp({
      env: { STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_API_BASE: stripe.url, APP_URL, ...PRICES, ...BUDGETS },
    }),
    startTestApp({ env: { APP_URL, ...BUDGETS } }),
  ]);
  return {
    stripe,
    app,
    bare,
    async close() {
      await Promise.all([app.close(), bare.close()]);
      await stripe.stop();
    },
  };
}

export type Owner = SignedUp & { organizationId: string };

/** A new user and the organization they own. */
export async function owner(app: TestApp): Promise<Owner> {
  const user = await signUp(app);
  return { ...user, organizationId: await defaultOrganizationId(app, user.userId) };
}

/**
 * Starts the billing apps before the file's tests and stops them after; the object's fields are
 * there once the tests run.
 */
export function billingSuite(): Billing {
  const suite = {} as Billing;
  beforeAll(async () => {
    Object.assign(suite, await startBilling());
  });
  afterAll(async () => {
    await suite.close?.();
  });
  return suite;
}
