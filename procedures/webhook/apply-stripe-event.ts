/**
 * A verified Stripe event, applied at most once and never over a newer state:
 * - one transaction inserts the event's id into stripe_events and makes its change; the primary
 *   key decides between deliveries of one event, concurrent or not: a second insert waits for the
 *   first transaction and, once it committed, inserts nothing, and its delivery is a duplicate that
 *   changes nothing (one that rolled back leaves the id free for the next);
 * - the organization is the one holding the event's Stripe customer, or for a completed checkout
 *   the one its metadata names (which then gets that customer if it has none); its row is locked for
 *   the transaction, so the events of one organization apply one at a time;
 * - an event for no known organization is recorded as `unknown-customer`, a type not handled as
 *   `ignored`, an event older than the state kept as `stale`: all answered 200, none a 5xx;
 * - no call goes back to Stripe: the event's object is the whole truth used.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import { ApiError } from '../../server/errors.js';
import type { Services } from '../../server/context.js';
import type { Logger } from '../../server/logger.js';
import { audit, type ProviderAuditContext } from '../../server/tenancy.js';
import {
  CheckoutSession,
  sessionOrganizationId,
  StripeInvoice,
  StripeSubscription,
  type StripeEventEnvelope,
} from './stripe-objects.js';
import { applyInvoice, applySubscription, type Outcome } from './billing-state.js';

const SUBSCRIPTION_EVENTS = new Set([
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
]);
const INVOICE_EVENTS = new Set([
  'invoice.created',
  'invoice.finalized',
  'invoice.updated',
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.payment_failed',
  'invoice.voided',
  'invoice.marked_uncollectible',
]);

interface Applied {
  outcome: Outcome;
  organizationId: string | null;
}

/** The request that delivered the event: where its audit entries say they came from, and its log. */
export interface Delivery {
  ip: string;
  userAgent: string;
  log: Logger;
}

/** Applies `event` unless its id was seen before; `duplicate` when it was (nothing changed). */
export async function receiveStripeEvent(
  em: EntityManager,
  services: Services,
  event: StripeEventEnvelope,
  delivery: Delivery,
): Promise<{ duplicate: boolean }> {
  const now = services.now();
  return em.transactional(async (tx) => {
    const claimed = await tx.execute<{ id: string }[]>(
      `insert into stripe_events (id, type, organization_id, outcome, stripe_created_at, received_at)
       values (?, ?, null, 'applied', ?, ?) on conflict (id) do nothing returning id`,
      [event.id, event.type, new Date(event.created * 1000), now],
    );
    if (claimed.length === 0) return { duplicate: true };
    const { outcome, organizationId } = await apply(tx, services, event, delivery);
    await tx.execute('update stripe_events set outcome = ?, organization_id = ? where id = ?', [
      outcome,
      organizationId,
      event.id,
    ]);
    if (outcome !== 'applied')
      delivery.log.info({ event: event.id, type: event.type, outcome }, 'stripe event not applied');
    return { duplicate: false };
  });
}

async function apply(
  tx: EntityManager,
  services: Services,
  event: StripeEventEnvelope,
  delivery: Delivery,
): Promise<Applied> {
  const at = new Date(event.created * 1000);
  const auditAs = (organizationId: string): ProviderAuditContext => ({
    organizationId,
    principal: { userId: null, kind: 'stripe' },
    ip: delivery.ip,
    userAgent: delivery.userAgent,
  });
  const now = services.now();

  if (event.type === 'checkout.session.completed') {
    const session = objectOf(event, CheckoutSession);
    if (session.mode !== 'subscription' || !session.customer) return { outcome: 'ignored', organizationId: null };
    const organizationId = sessionOrganizationId(session);
    const organization = organizationId && (await lockOrganization(tx, 'id', organizationId));
    if (!organization) return { outcome: 'unknown-customer', organizationId: null };
    if (organization.stripe_customer_id === null) {
      const [holder] = await tx.execute<{ id: string }[]>('select id from organizations where stripe_customer_id = ?', [
        session.customer,
      ]);
      // A customer belongs to one organization (a unique index says so too): another's is not taken over.
      if (holder) return { outcome: 'ignored', organizationId: organization.id };
      await tx.execute('update organizations set stripe_customer_id = ?, updated_at = ? where id = ?', [
        session.customer,
        now,
        organization.id,
      ]);
    } else if (organization.stripe_customer_id !== session.customer) {
      return { outcome: 'ignored', organizationId: organization.id };
    }
    audit(
      tx,
      auditAs(organization.id),
      {
        action: 'billing.checkout_completed',
        targetType: 'organization',
        targetId: organization.id,
        metadata: { customerId: session.customer, sessionId: session.id, subscriptionId: session.subscription ?? null },
      },
      now,
    );
    return { outcome: 'applied', organizationId: organization.id };
  }

  if (SUBSCRIPTION_EVENTS.has(event.type)) {
    const subscription = objectOf(event, StripeSubscription);
    const organization = await lockOrganization(tx, 'stripe_customer_id', subscription.customer);
    if (!organization) return { outcome: 'unknown-customer', organizationId: null };
    const applied = await applySubscription(
      tx,
      services.config,
      organization.id,
      subscription,
      {
        at,
        first: event.type === 'customer.subscription.created',
        deleted: event.type === 'customer.subscription.deleted',
      },
      now,
    );
    if (applied.outcome === 'applied') {
      const { tier, status, seats, interval, stripeSubscriptionId } = applied.state;
      audit(
        tx,
        auditAs(organization.id),
        {
          action: 'billing.subscription_updated',
          targetType: 'organization',
          targetId: organization.id,
          metadata: { subscriptionId: stripeSubscriptionId, tier, status, seats, interval, event: event.type },
        },
        now,
      );
    }
    return { outcome: applied.outcome, organizationId: organization.id };
  }

  if (INVOICE_EVENTS.has(event.type)) {
    const invoice = objectOf(event, StripeInvoice);
    const organization = invoice.customer && (await lockOrganization(tx, 'stripe_customer_id', invoice.customer));
    if (!organization) return { outcome: 'unknown-customer', organizationId: null };
    const outcome = await applyInvoice(tx, organization.id, invoice, at, now);
    if (outcome === 'applied' && event.type === 'invoice.payment_failed') {
      audit(
        tx,
        auditAs(organization.id),
        {
          action: 'billing.payment_failed',
          targetType: 'organization',
          targetId: organization.id,
          metadata: { invoiceId: invoice.id, amountDue: invoice.amount_due, currency: invoice.currency },
        },
        now,
      );
    }
    return { outcome, organizationId: organization.id };
  }

  return { outcome: 'ignored', organizationId: null };
}

/** The event's object as `schema` reads it; a signed event not shaped as Stripe sends it is 400, nothing kept. */
function objectOf<T extends z.ZodType>(event: StripeEventEnvelope, schema: T): z.output<T> {
  const parsed = schema.safeParse(event.data.object);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ApiError(
    'BAD_REQUEST',
    `The ${event.type} event's object is not as Stripe sends it: ${issue?.path.join('.') || 'object'}: ${issue?.message}`,
  );
}

interface LockedOrganization {
  id: string;
  stripe_customer_id: string | null;
}

/** The organization by id or by Stripe customer, locked until the transaction ends (rows that reference it can still be added). */
async function lockOrganization(
  tx: EntityManager,
  by: 'id' | 'stripe_customer_id',
  value: string,
): Promise<LockedOrganization | undefined> {
  const [row] = await tx.execute<LockedOrganization[]>(
    `select id, stripe_customer_id from organizations where ${by} = ? for no key update`,
    [value],
  );
  return row;
}
