import { BigIntType, EntitySchema } from '@mikro-orm/core';
import { clearedWith, idColumn, ownedBy, timestamp } from './columns.js';

/**
 * An organization's subscription as Stripe last told us: one row per organization, kept by the
 * webhook. `stripeUpdatedAt` is the time of the Stripe event that brought this state, so that an
 * older event arriving late never overwrites it.
 */
export interface Subscription {
  organizationId: string;
  stripeSubscriptionId: string;
  tier: string;
  interval: 'month' | 'year';
  seats: number;
  /** Stripe's status: active, trialing, past_due, unpaid, canceled, incomplete, incomplete_expired, paused. */
  status: string;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  /** When the subscription became past_due; its tier holds for the grace period from then. */
  pastDueSince: Date | null;
  stripeUpdatedAt: Date;
  updatedAt: Date;
}

export const SubscriptionSchema = new EntitySchema<Subscription>({
  name: 'Subscription',
  tableName: 'subscriptions',
  properties: {
    organizationId: {
      ...ownedBy('Organization'),
      fieldName: 'organization_id',
      primary: true,
      index: false,
    },
    stripeSubscriptionId: { type: 'string', length: 255, unique: 'subscriptions_stripe_subscription_unique' },
    tier: { type: 'string', length: 32 },
    interval: { type: 'string', length: 8 },
    seats: { type: 'integer' },
    status: { type: 'string', length: 32 },
    currentPeriodEnd: { type: 'Date', columnType: 'timestamptz', nullable: true },
    cancelAtPeriodEnd: { type: 'boolean', default: false },
    pastDueSince: { type: 'Date', columnType: 'timestamptz', nullable: true },
    stripeUpdatedAt: timestamp,
    updatedAt: timestamp,
  },
});

/** One Stripe invoice of an organization: its payment history. Amounts in the currency's minor unit. */
export interface Invoice {
  id: string;
  organizationId: string;
  stripeInvoiceId: string;
  amountDue: number;
  amountPaid: number;
  currency: string;
  /** Stripe's status: draft, open, paid, uncollectible, void. */
  status: string;
  hostedInvoiceUrl: string | null;
  periodStart: Date | null;
  periodEnd: Date | null;
  stripeCreatedAt: Date;
  stripeUpdatedAt: Date;
  createdAt: Date;
}

export const InvoiceSchema = new EntitySchema<Invoice>({
  name: 'Invoice',
  tableName: 'invoices',
  indexes: [{ name: 'invoices_organization_created_idx', properties: ['organizationId', 'stripeCreatedAt'] }],
  properties: {
    id: idColumn,
    organizationId: { ...ownedBy('Organization'), fieldName: 'organization_id', index: false },
    stripeInvoiceId: { type: 'string', length: 255, unique: 'invoices_stripe_invoice_unique' },
    amountDue: { type: new BigIntType('number') },
    amountPaid: { type: new BigIntType('number') },
    currency: { type: 'string', length: 8 },
    status: { type: 'string', length: 32 },
    hostedInvoiceUrl: { type: 'string', length: 2048, nullable: true },
    periodStart: { type: 'Date', columnType: 'timestamptz', nullable: true },
    periodEnd: { type: 'Date', columnType: 'timestamptz', nullable: true },
    stripeCreatedAt: timestamp,
    stripeUpdatedAt: timestamp,
    createdAt: timestamp,
  },
});

/** A webhook event applied (or recorded and ignored), written in the transaction of what it changed. */
export interface StripeEvent {
  id: string;
  type: string;
  organizationId: string | null;
  /** applied, ignored (an event type we do not handle), unknown-customer, stale (older than the state kept). */
  outcome: string;
  stripeCreatedAt: Date;
  receivedAt: Date;
}

export const StripeEventSchema = new EntitySchema<StripeEvent>({
  name: 'StripeEvent',
  tableName: 'stripe_events',
  properties: {
    id: { type: 'string', length: 255, primary: true },
    type: { type: 'string', length: 128 },
    organizationId: clearedWith('Organization', 'organization_id'),
    outcome: { type: 'string', length: 32 },
    stripeCreatedAt: timestamp,
    receivedAt: timestamp,
  },
});
