/**
 * The newest state wins, whatever order Stripe's events arrive in. Each row keeps the `created`
 * time of the event that brought it (stripe_updated_at); the caller holds the organization's lock,
 * so reading the row and then writing it cannot interleave with another event of the organization.
 *
 * Subscriptions (one row per organization):
 * - an event older than the state kept is stale; one of the same second applies again (idempotent),
 *   except a subscription's first state (`created`) over a state of that subscription already kept;
 * - canceled (or incomplete_expired) is final at Stripe: a later-looking live state of the same
 *   subscription is an older one delivered late, and stale;
 * - another subscription of the organization: an ended one never replaces the state kept, a live one
 *   replaces an ended one whenever it arrives, and another live one when it is newer;
 * - past_due_since is when the subscription became past_due (the event's time), kept while it stays
 *   past_due, cleared otherwise.
 * Invoices (one row per Stripe invoice): newest by event time, and never back in Stripe's one-way
 * progression (draft, open, uncollectible, then paid or void).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { InvoiceSchema, SubscriptionSchema, type Subscription } from '../../entities/billing.js';
import type { Config } from '../../server/config.js';
import { newId } from '../../server/ids.js';
import {
  invoicePeriod,
  subscriptionState,
  type StripeInvoice,
  type StripeSubscription,
  type SubscriptionState,
} from './stripe-objects.js';

/** What became of an event (stripe_events.outcome). */
export type Outcome = 'applied' | 'ignored' | 'unknown-customer' | 'stale';

const ENDED = new Set(['canceled', 'incomplete_expired']);

interface SubscriptionEvent {
  /** The event's `created`. */
  at: Date;
  /** customer.subscription.created: the subscription's first state. */
  first: boolean;
  /** customer.subscription.deleted: canceled, whatever the object says. */
  deleted: boolean;
}

/** Whether `next`, brought by an event at `event.at`, replaces the `stored` state. */
function supersedes(stored: Subscription, next: SubscriptionState, event: SubscriptionEvent): boolean {
  const kept = stored.stripeUpdatedAt.getTime();
  const at = event.at.getTime();
  if (stored.stripeSubscriptionId !== next.stripeSubscriptionId) {
    if (ENDED.has(next.status)) return false;
    return ENDED.has(stored.status) || at >= kept;
  }
  if (ENDED.has(stored.status) && !ENDED.has(next.status)) return false;
  if (event.first && at === kept) return false;
  return at >= kept;
}

export async function applySubscription(
  tx: EntityManager,
  config: Config,
  organizationId: string,
  subscription: StripeSubscription,
  event: SubscriptionEvent,
  now: Date,
): Promise<{ outcome: 'stale' } | { outcome: 'applied'; state: SubscriptionState }> {
  const state = subscriptionState(config, subscription);
  if (event.deleted) state.status = 'canceled';
  const stored = await tx.findOne(SubscriptionSchema, { organizationId });
  if (stored && !supersedes(stored, state, event)) return { outcome: 'stale' };
  const stillPastDue =
    stored?.status === 'past_due' && stored.stripeSubscriptionId === state.stripeSubscriptionId && stored.pastDueSince;
  const values = {
    ...state,
    pastDueSince: state.status === 'past_due' ? stillPastDue || event.at : null,
    stripeUpdatedAt: event.at,
    updatedAt: now,
  };
  if (stored) tx.assign(stored, values);
  else tx.persist(tx.create(SubscriptionSchema, { organizationId, ...values }));
  return { outcome: 'applied', state };
}

const INVOICE_PROGRESS: Record<string, number> = { draft: 0, open: 1, uncollectible: 2, paid: 3, void: 3 };
const progress = (status: string) => INVOICE_PROGRESS[status] ?? 0;

export async function applyInvoice(
  tx: EntityManager,
  organizationId: string,
  invoice: StripeInvoice,
  at: Date,
  now: Date,
): Promise<Outcome> {
  const status = invoice.status ?? 'draft';
  const stored = await tx.findOne(InvoiceSchema, { stripeInvoiceId: invoice.id });
  // An invoice is its customer's: one naming another organization's invoice changes nothing.
  if (stored && stored.organizationId !== organizationId) return 'ignored';
  if (stored && (at < stored.stripeUpdatedAt || progress(status) < progress(stored.status))) return 'stale';
  const period = invoicePeriod(invoice);
  const values = {
    amountDue: invoice.amount_due,
    amountPaid: invoice.amount_paid,
    currency: invoice.currency,
    status,
    hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
    periodStart: period.start,
    periodEnd: period.end,
    stripeCreatedAt: new Date(invoice.created * 1000),
    stripeUpdatedAt: at,
  };
  if (stored) tx.assign(stored, values);
  else
    tx.persist(
      tx.create(InvoiceSchema, { id: newId(), organizationId, stripeInvoiceId: invoice.id, createdAt: now, ...values }),
    );
  return 'applied';
}
