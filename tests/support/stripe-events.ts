/**
 * Stripe webhook events as Stripe sends them (the SDK's pinned API version: a subscription's period
 * lies on its items), signed with the SDK's own test helper, and delivered to POST /api/webhook/stripe.
 */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import type { TestApp } from './app.js';

export const WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';

/** The catalogue's prices in the tests' environment (STRIPE_PRICE_*). */
export const PRICES = {
  proMonth: 'price_pro_month',
  proYear: 'price_pro_year',
  businessMonth: 'price_business_month',
} as const;

/** What an app that receives Stripe's events needs in its environment. */
export const STRIPE_ENV = {
  STRIPE_SECRET_KEY: 'sk_test_webhooks',
  STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  STRIPE_PRICE_PRO_MONTH: PRICES.proMonth,
  STRIPE_PRICE_PRO_YEAR: PRICES.proYear,
  STRIPE_PRICE_BUSINESS_MONTH: PRICES.businessMonth,
};

const stripe = new Stripe('sk_test_x');

export const stripeId = (prefix: string) => `${prefix}_${randomBytes(10).toString('hex')}`;

const seconds = (at: Date) => Math.floor(at.getTime() / 1000);

/** An event of `type` about `object`, created at `created`. */
export function stripeEvent(type: string, object: Record<string, unknown>, created: Date, id = stripeId('evt')) {
  return {
    id,
    object: 'event',
    api_version: '2026-11-18.endive',
    created: seconds(created),
    type,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  };
}

export function checkoutSession(options: {
  organizationId: string;
  customer: string;
  subscription?: string;
  mode?: string;
  viaClientReference?: boolean;
}) {
  return {
    id: stripeId('cs_test'),
    object: 'checkout.session',
    mode: options.mode ?? 'subscription',
    status: 'complete',
    customer: options.customer,
    subscription: options.subscription ?? stripeId('sub'),
    client_reference_id: options.viaClientReference ? options.organizationId : null,
    metadata: options.viaClientReference ? {} : { organizationId: options.organizationId },
  };
}

export function subscription(options: {
  id: string;
  customer: string;
  status: string;
  price?: string;
  interval?: 'month' | 'year';
  quantity?: number;
  currentPeriodEnd: Date;
  cancelAtPeriodEnd?: boolean;
}) {
  const price = options.price ?? PRICES.proMonth;
  return {
    id: options.id,
    object: 'subscription',
    customer: options.customer,
    status: options.status,
    cancel_at_period_end: options.cancelAtPeriodEnd ?? false,
    metadata: {},
    items: {
      object: 'list',
      data: [
        {
          id: stripeId('si'),
          object: 'subscription_item',
          price: {
            id: price,
            object: 'price',
            recurring: { interval: options.interval ?? 'month', interval_count: 1 },
          },
          quantity: options.quantity ?? 1,
          current_period_start: seconds(options.currentPeriodEnd) - 30 * 86_400,
          current_period_end: seconds(options.currentPeriodEnd),
        },
      ],
    },
  };
}

export function invoice(options: {
  id: string;
  customer: string;
  status: string;
  amountDue: number;
  amountPaid?: number;
  currency?: string;
  created: Date;
  periodStart: Date;
  periodEnd: Date;
}) {
  return {
    id: options.id,
    object: 'invoice',
    customer: options.customer,
    status: options.status,
    amount_due: options.amountDue,
    amount_paid: options.amountPaid ?? 0,
    currency: options.currency ?? 'eur',
    hosted_invoice_url: `https://invoice.stripe.com/i/${options.id}`,
    created: seconds(options.created),
    // What Stripe puts here for a subscription's invoice is the previous period; the lines hold the billed one.
    period_start: seconds(options.created),
    period_end: seconds(options.created),
    lines: {
      object: 'list',
      data: [{ id: stripeId('il'), period: { start: seconds(options.periodStart), end: seconds(options.periodEnd) } }],
    },
  };
}

/** The Stripe-Signature header for `payload`, by the SDK's helper. */
export function signature(payload: string, options: { secret?: string; timestamp?: Date } = {}): string {
  return stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? WEBHOOK_SECRET,
    ...(options.timestamp && { timestamp: seconds(options.timestamp) }),
  });
}

/**
 * POSTs `event` (an object, sent as JSON, or a body as it is) to the webhook, signed for `at` unless
 * `headers` say otherwise.
 */
export function deliver(
  t: TestApp,
  event: object | string,
  options: { at: Date; secret?: string; headers?: Record<string, string> },
) {
  const payload = typeof event === 'string' ? event : JSON.stringify(event);
  return t.request('/api/webhook/stripe', {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'stripe-signature': signature(payload, { secret: options.secret, timestamp: options.at }),
      ...options.headers,
    },
    body: payload,
  });
}
