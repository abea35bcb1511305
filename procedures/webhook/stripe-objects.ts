/**
 * The parts of Stripe's events the webhook reads, checked before anything is written: a signed
 * event is Stripe's word, but what reaches the database is still held to its column (ids of word
 * characters, known lengths, no NUL byte, timestamps in range). Unknown fields are dropped.
 * Shapes follow the SDK's pinned API version: a subscription's period end lives on its items.
 */
import { z } from 'zod';
import type { Config } from '../../server/config.js';
import { ULID_PATTERN } from '../../server/ids.js';
import { INTERVALS, type BillingInterval } from '../../server/plans.js';

const StripeId = z.string().regex(/^\w{1,255}$/, 'must be a Stripe id');
/** An id, or the object it names when expanded. */
const Ref = z.union([StripeId, z.looseObject({ id: StripeId }).transform((object) => object.id)]);
/** Unix seconds, up to the year 9999. */
const Seconds = z.int().min(0).max(253_402_300_799);
const Status = z.string().regex(/^[a-z_]{1,32}$/, 'must be a Stripe status');
const Metadata = z.record(z.string(), z.string()).nullish();

export const StripeEventEnvelope = z.object({
  id: StripeId,
  type: z.string().regex(/^[a-z0-9_.]{1,128}$/, 'must be a Stripe event type'),
  created: Seconds,
  data: z.object({ object: z.looseObject({}) }),
});

export type StripeEventEnvelope = z.infer<typeof StripeEventEnvelope>;

export const CheckoutSession = z.object({
  id: StripeId,
  mode: z.string(),
  customer: Ref.nullish(),
  subscription: Ref.nullish(),
  client_reference_id: z.string().nullish(),
  metadata: Metadata,
});

/** The organization a checkout session names (metadata first, then client_reference_id), if well-formed. */
export function sessionOrganizationId(session: z.infer<typeof CheckoutSession>): string | undefined {
  return [session.metadata?.organizationId, session.client_reference_id].find(
    (id): id is string => typeof id === 'string' && ULID_PATTERN.test(id),
  );
}

const SubscriptionItem = z.object({
  price: z.object({
    id: StripeId,
    recurring: z.object({ interval: z.string() }).nullish(),
  }),
  quantity: z.int().min(0).max(1_000_000).nullish(),
  current_period_end: Seconds.nullish(),
});

export const StripeSubscription = z.object({
  id: StripeId,
  customer: Ref,
  status: Status,
  cancel_at_period_end: z.boolean().nullish(),
  /** Older API versions only. */
  current_period_end: Seconds.nullish(),
  items: z.object({ data: z.array(SubscriptionItem).min(1).max(100) }),
});

export type StripeSubscription = z.infer<typeof StripeSubscription>;

/** A subscription as the `subscriptions` row keeps it (without the organization and its past-due time). */
export interface SubscriptionState {
  stripeSubscriptionId: string;
  /** A catalogue tier; `free` for a price the catalogue does not list, so nothing unpaid-for is granted. */
  tier: string;
  interval: BillingInterval;
  seats: number;
  status: string;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
}

/**
 * The state of a subscription: the tier of the first item whose price the catalogue lists (else the
 * first item, as `free`), its interval (the price's, else the catalogue's), seats (the quantity).
 */
export function subscriptionState(config: Config, subscription: StripeSubscription): SubscriptionState {
  const tierOf = (priceId: string) =>
    config.billing.tiers.find((tier) => INTERVALS.some((interval) => tier.prices[interval] === priceId));
  const items = subscription.items.data;
  const item = items.find((candidate) => tierOf(candidate.price.id)) ?? items[0]!;
  const tier = tierOf(item.price.id);
  const recurring = item.price.recurring?.interval;
  const interval =
    INTERVALS.find((known) => known === recurring) ??
    INTERVALS.find((known) => tier?.prices[known] === item.price.id) ??
    'month';
  const periodEnd = item.current_period_end ?? subscription.current_period_end;
  return {
    stripeSubscriptionId: subscription.id,
    tier: tier?.id ?? 'free',
    interval,
    seats: item.quantity ?? 1,
    status: subscription.status,
    currentPeriodEnd: periodEnd == null ? null : new Date(periodEnd * 1000),
    cancelAtPeriodEnd: subscription.cancel_at_period_end ?? false,
  };
}

const Period = z.object({ start: Seconds, end: Seconds });

export const StripeInvoice = z.object({
  id: StripeId,
  customer: Ref.nullish(),
  status: Status.nullish(),
  amount_due: z.int().min(0),
  amount_paid: z.int().min(0),
  currency: z.string().regex(/^[a-z]{3}$/, 'must be an ISO currency code in lower case'),
  hosted_invoice_url: z
    .string()
    .max(2048)
    .regex(/^https?:\/\/[^\s\0]+$/, 'must be a URL')
    .nullish(),
  created: Seconds,
  period_start: Seconds.nullish(),
  period_end: Seconds.nullish(),
  lines: z.object({ data: z.array(z.object({ period: Period.nullish() })).max(1000) }).nullish(),
});

export type StripeInvoice = z.infer<typeof StripeInvoice>;

/** What an invoice bills for: the span of its lines' periods, else the invoice's own period fields. */
export function invoicePeriod(invoice: StripeInvoice): { start: Date | null; end: Date | null } {
  const periods = (invoice.lines?.data ?? []).flatMap((line) => (line.period ? [line.period] : []));
  const start = periods.length > 0 ? Math.min(...periods.map((p) => p.start)) : invoice.period_start;
  const end = periods.length > 0 ? Math.max(...periods.map((p) => p.end)) : invoice.period_end;
  return { start: start == null ? null : new Date(start * 1000), end: end == null ? null : new Date(end * 1000) };
}
