/**
 * POST /api/webhook/stripe over real HTTP, with events signed by the SDK's own test helper: the whole
 * lifecycle of a subscription as the database and the plan in force see it, each event applied once
 * (also under ten concurrent deliveries), the newest state kept whatever the order, and every bad
 * delivery a 4xx that records and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { effectivePlan } from '../../procedures/shared/entitlements.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signUp } from '../support/identity.js';
import { createApiKey } from '../support/api-keys.js';
import {
  checkoutSession,
  deliver,
  invoice,
  PRICES,
  signature,
  STRIPE_ENV,
  stripeEvent,
  stripeId,
  subscription,
} from '../support/stripe-events.js';
import { defaultOrganizationId } from '../support/tenancy.js';

const DAY = 86_400_000;
let t: TestApp;
/** The service's clock, moved by the tests. */
let clock = new Date('2026-12-01T12:00:00Z');
const later = (ms: number) => new Date(clock.getTime() + ms);

beforeAll(async () => {
  t = await startTestApp({
    now: () => clock,
    env: {
      ...STRIPE_ENV,
      BILLING_GRACE_DAYS: '7',
      RATE_LIMIT_GLOBAL_POINTS: '10000',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
    },
  });
});
afterAll(async () => {
  await t?.close();
});

async function rows<T = any>(sql: string, params: unknown[] = []): Promise<T[]> {
  return t.services.orm.em.fork().getConnection().execute(sql, params);
}

const subscriptionRow = async (organizationId: string) =>
  (await rows('select * from subscriptions where organization_id = ?', [organizationId]))[0];
const eventRow = async (id: string) => (await rows('select * from stripe_events where id = ?', [id]))[0];
const eventCount = async () => Number((await rows('select count(*) as n from stripe_events'))[0].n);
const auditActions = async (organizationId: string) =>
  (
    await rows('select action from audit_logs where organization_id = ? and action like ? order by created_at, id', [
      organizationId,
      'billing.%',
    ])
  ).map((row) => row.action);
const plan = (organizationId: string) =>
  effectivePlan(t.services.orm.em.fork(), t.services.config, organizationId, clock);

/** Delivers a new event of `type` about `object`, created at `created`, signed now. */
const send = (type: string, object: Record<string, unknown>, created: Date) =>
  deliver(t, stripeEvent(type, object, created), { at: clock });

/** A new organization whose Stripe customer is already stored (as checkout stores it). */
async function customerOrganization(): Promise<{ organizationId: string; customer: string }> {
  const owner = await signUp(t);
  const organizationId = await defaultOrganizationId(t, owner.userId);
  const customer = stripeId('cus');
  await rows('update organizations set stripe_customer_id = ? where id = ?', [customer, organizationId]);
  return { organizationId, customer };
}

describe('the lifecycle of a subscription', () => {
  it('checkout → active → paid → past_due → payment failed → paid and active → canceled → free', async () => {
    const owner = await signUp(t);
    const organizationId = await defaultOrganizationId(t, owner.userId);
    const customer = stripeId('cus');
    const sub = stripeId('sub');
    // An API key, not the session: the clock moves past a session's lifetime.
    const apiKey = await createApiKey(t, { userId: owner.userId, scopes: ['subscription:read'] });
    /** What the owner sees of the organization's plan (GET /payments/subscription). */
    const shown = async () =>
      (
        await t.request(`/api/user/organizations/${organizationId}/payments/subscription`, {
          headers: { 'x-api-key': apiKey },
        })
      ).body.data;
    const start = clock;
    const periodEnd = new Date(start.getTime() + 30 * DAY);
    expect((await plan(organizationId)).tier.id).toBe('free');

    const completed = stripeEvent(
      'checkout.session.completed',
      checkoutSession({ organizationId, customer, subscription: sub }),
      clock,
    );
    let res = await deliver(t, completed, { at: clock });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ received: true });
    expect(
      (await rows('select stripe_customer_id from organizations where id = ?', [organizationId]))[0].stripe_customer_id,
    ).toBe(customer);
    expect(await eventRow(completed.id)).toMatchObject({
      outcome: 'applied',
      organization_id: organizationId,
      type: 'checkout.session.completed',
    });

    const active = { id: sub, customer, price: PRICES.proMonth, quantity: 5, currentPeriodEnd: periodEnd };
    res = await send('customer.subscription.created', subscription({ ...active, status: 'active' }), later(1000));
    expect(res.status).toBe(200);
    expect(await subscriptionRow(organizationId)).toMatchObject({
      stripe_subscription_id: sub,
      tier: 'pro',
      interval: 'month',
      seats: 5,
      status: 'active',
      cancel_at_period_end: false,
      past_due_since: null,
    });
    expect(new Date((await subscriptionRow(organizationId)).current_period_end).getTime()).toBe(
      Math.floor(periodEnd.getTime() / 1000) * 1000,
    );
    expect(await plan(organizationId)).toMatchObject({ tier: { id: 'pro' }, limits: { seats: 5 } });
    expect(await shown()).toMatchObject({
      tier: 'pro',
      interval: 'month',
      seats: 5,
      status: 'active',
      cancelAtPeriodEnd: false,
      currentPeriodEnd: new Date(Math.floor(periodEnd.getTime() / 1000) * 1000).toISOString(),
    });

    const first = stripeId('in');
    const firstInvoice = {
      id: first,
      customer,
      amountDue: 4500,
      currency: 'eur',
      created: later(2000),
      periodStart: start,
      periodEnd,
    };
    res = await send('invoice.paid', invoice({ ...firstInvoice, status: 'paid', amountPaid: 4500 }), later(2000));
    expect(res.status).toBe(200);
    const [paid] = await rows('select * from invoices where stripe_invoice_id = ?', [first]);
    expect(paid).toMatchObject({
      organization_id: organizationId,
      status: 'paid',
      amount_due: '4500',
      amount_paid: '4500',
      currency: 'eur',
      hosted_invoice_url: `https://invoice.stripe.com/i/${first}`,
    });
    expect(new Date(paid.period_start).getTime()).toBe(Math.floor(start.getTime() / 1000) * 1000);
    expect(new Date(paid.period_end).getTime()).toBe(Math.floor(periodEnd.getTime() / 1000) * 1000);

    // A month on, the renewal fails: Stripe marks the subscription past_due, then reports the failure.
    clock = new Date(periodEnd.getTime() + 60_000);
    const renewalEnd = new Date(periodEnd.getTime() + 30 * DAY);
    const pastDueAt = later(0);
    res = await send(
      'customer.subscription.updated',
      subscription({ ...active, status: 'past_due', currentPeriodEnd: renewalEnd }),
      pastDueAt,
    );
    expect(res.status).toBe(200);
    expect(await subscriptionRow(organizationId)).toMatchObject({ status: 'past_due', tier: 'pro' });
    expect(new Date((await subscriptionRow(organizationId)).past_due_since).getTime()).toBe(
      Math.floor(pastDueAt.getTime() / 1000) * 1000,
    );
    expect((await plan(organizationId)).tier.id).toBe('pro');
    expect(await shown()).toMatchObject({ tier: 'pro', status: 'past_due' });

    const second = stripeId('in');
    const renewal = {
      id: second,
      customer,
      amountDue: 4500,
      created: later(1000),
      periodStart: periodEnd,
      periodEnd: renewalEnd,
    };
    res = await send('invoice.payment_failed', invoice({ ...renewal, status: 'open' }), later(1000));
    expect(res.status).toBe(200);
    expect((await rows('select status, amount_paid from invoices where stripe_invoice_id = ?', [second]))[0]).toEqual({
      status: 'open',
      amount_paid: '0',
    });
    expect((await subscriptionRow(organizationId)).status).toBe('past_due');
    const since = new Date((await subscriptionRow(organizationId)).past_due_since).getTime();

    // Still past_due a day later (a retry that failed again): the time it became past_due is kept.
    clock = later(DAY);
    await send(
      'customer.subscription.updated',
      subscription({ ...active, status: 'past_due', currentPeriodEnd: renewalEnd }),
      clock,
    );
    expect(new Date((await subscriptionRow(organizationId)).past_due_since).getTime()).toBe(since);

    res = await send('invoice.paid', invoice({ ...renewal, status: 'paid', amountPaid: 4500 }), later(1000));
    expect(res.status).toBe(200);
    res = await send(
      'customer.subscription.updated',
      subscription({ ...active, status: 'active', currentPeriodEnd: renewalEnd }),
      later(1000),
    );
    expect(res.status).toBe(200);
    expect((await rows('select status, amount_paid from invoices where stripe_invoice_id = ?', [second]))[0]).toEqual({
      status: 'paid',
      amount_paid: '4500',
    });
    expect(await subscriptionRow(organizationId)).toMatchObject({ status: 'active', past_due_since: null });
    expect((await plan(organizationId)).tier.id).toBe('pro');

    clock = later(2 * DAY);
    res = await send(
      'customer.subscription.deleted',
      subscription({ ...active, status: 'canceled', currentPeriodEnd: renewalEnd }),
      clock,
    );
    expect(res.status).toBe(200);
    expect((await subscriptionRow(organizationId)).status).toBe('canceled');
    expect(await plan(organizationId)).toMatchObject({ tier: { id: 'free' }, limits: { seats: 3 } });
    expect(await shown()).toMatchObject({ tier: 'free', status: 'canceled', seats: 3 });
    expect(
      Number((await rows('select count(*) as n from invoices where organization_id = ?', [organizationId]))[0].n),
    ).toBe(2);

    expect(await auditActions(organizationId)).toEqual([
      'billing.checkout_completed',
      'billing.subscription_updated',
      'billing.subscription_updated',
      'billing.payment_failed',
      'billing.subscription_updated',
      'billing.subscription_updated',
      'billing.subscription_updated',
    ]);
    const [entry] = await rows(
      "select actor_user_id, actor_type, metadata from audit_logs where organization_id = ? and action = 'billing.subscription_updated' order by created_at desc, id desc limit 1",
      [organizationId],
    );
    expect(entry).toMatchObject({
      actor_user_id: null,
      actor_type: 'stripe',
      metadata: { tier: 'pro', status: 'canceled' },
    });
  });

  it('links the organization named by client_reference_id when the metadata does not name it', async () => {
    const owner = await signUp(t);
    const organizationId = await defaultOrganizationId(t, owner.userId);
    const customer = stripeId('cus');
    const res = await send(
      'checkout.session.completed',
      checkoutSession({ organizationId, customer, viaClientReference: true }),
      clock,
    );
    expect(res.status).toBe(200);
    expect(
      (await rows('select stripe_customer_id from organizations where id = ?', [organizationId]))[0].stripe_customer_id,
    ).toBe(customer);
  });

  it('keeps the seats, the yearly interval, the business tier and cancel_at_period_end as Stripe says', async () => {
    const { organizationId, customer } = await customerOrganization();
    const sub = stripeId('sub');
    const state = { id: sub, customer, status: 'active', currentPeriodEnd: later(365 * DAY), quantity: 12 };
    await send(
      'customer.subscription.created',
      subscription({ ...state, price: PRICES.proYear, interval: 'year' }),
      clock,
    );
    expect(await subscriptionRow(organizationId)).toMatchObject({ tier: 'pro', interval: 'year', seats: 12 });
    await send(
      'customer.subscription.updated',
      subscription({ ...state, price: PRICES.businessMonth, cancelAtPeriodEnd: true }),
      later(1000),
    );
    expect(await subscriptionRow(organizationId)).toMatchObject({
      tier: 'business',
      interval: 'month',
      seats: 12,
      cancel_at_period_end: true,
    });
  });

  it('gives a price the catalogue does not list the free tier, and still keeps its status', async () => {
    const { organizationId, customer } = await customerOrganization();
    const res = await send(
      'customer.subscription.created',
      subscription({
        id: stripeId('sub'),
        customer,
        status: 'active',
        price: 'price_unknown',
        currentPeriodEnd: later(30 * DAY),
      }),
      clock,
    );
    expect(res.status).toBe(200);
    expect(await subscriptionRow(organizationId)).toMatchObject({ tier: 'free', status: 'active' });
    expect((await plan(organizationId)).tier.id).toBe('free');
  });
});

describe('the grace period of a past_due subscription', () => {
  it('keeps the tier for BILLING_GRACE_DAYS from when it became past_due, then falls back to the free limits', async () => {
    const { organizationId, customer } = await customerOrganization();
    const sub = {
      id: stripeId('sub'),
      customer,
      price: PRICES.businessMonth,
      quantity: 20,
      currentPeriodEnd: later(30 * DAY),
    };
    await deliver(t, stripeEvent('customer.subscription.created', subscription({ ...sub, status: 'active' }), clock), {
      at: clock,
    });
    const pastDueAt = later(1000);
    await send('customer.subscription.updated', subscription({ ...sub, status: 'past_due' }), pastDueAt);
    expect(await plan(organizationId)).toMatchObject({ tier: { id: 'business' }, limits: { seats: 20 } });

    const saved = clock;
    try {
      clock = new Date(pastDueAt.getTime() + 7 * DAY - 60_000);
      expect((await plan(organizationId)).tier.id).toBe('business');
      clock = new Date(pastDueAt.getTime() + 7 * DAY + 60_000);
      expect(await plan(organizationId)).toMatchObject({ tier: { id: 'free' }, limits: { seats: 3 } });
      // Paid after all: the tier is back.
      await send('customer.subscription.updated', subscription({ ...sub, status: 'active' }), clock);
      expect((await plan(organizationId)).tier.id).toBe('business');
    } finally {
      clock = saved;
    }
  });
});

describe('each event applied once', () => {
  it('answers a repeated event duplicate and changes nothing', async () => {
    const { organizationId, customer } = await customerOrganization();
    const event = stripeEvent(
      'customer.subscription.created',
      subscription({ id: stripeId('sub'), customer, status: 'active', quantity: 4, currentPeriodEnd: later(30 * DAY) }),
      clock,
    );
    expect((await deliver(t, event, { at: clock })).body.data).toEqual({ received: true });
    const before = await subscriptionRow(organizationId);
    const again = await deliver(t, event, { at: later(60_000) });
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual({ received: true, duplicate: true });
    expect(await subscriptionRow(organizationId)).toEqual(before);
    expect(await auditActions(organizationId)).toEqual(['billing.subscription_updated']);
  });

  it('applies one of ten concurrent deliveries of an event, and answers the nine others duplicate', async () => {
    const { organizationId, customer } = await customerOrganization();
    const event = stripeEvent(
      'customer.subscription.created',
      subscription({ id: stripeId('sub'), customer, status: 'active', quantity: 7, currentPeriodEnd: later(30 * DAY) }),
      clock,
    );
    const answers = await Promise.all(Array.from({ length: 10 }, () => deliver(t, event, { at: clock })));
    expect(answers.map((res) => res.status)).toEqual(Array(10).fill(200));
    expect(answers.filter((res) => res.body.data.duplicate === true)).toHaveLength(9);
    expect(await auditActions(organizationId)).toEqual(['billing.subscription_updated']);
    expect(Number((await rows('select count(*) as n from stripe_events where id = ?', [event.id]))[0].n)).toBe(1);
    expect((await subscriptionRow(organizationId)).seats).toBe(7);
  });
});

describe('events out of order', () => {
  it('records an older subscription update arriving after a newer one as stale, and changes nothing', async () => {
    const { organizationId, customer } = await customerOrganization();
    const sub = { id: stripeId('sub'), customer, status: 'active', currentPeriodEnd: later(30 * DAY) };
    await deliver(t, stripeEvent('customer.subscription.created', subscription({ ...sub, quantity: 2 }), clock), {
      at: clock,
    });
    const newer = stripeEvent('customer.subscription.updated', subscription({ ...sub, quantity: 8 }), later(10_000));
    const older = stripeEvent('customer.subscription.updated', subscription({ ...sub, quantity: 3 }), later(5_000));
    await deliver(t, newer, { at: clock });
    const before = await subscriptionRow(organizationId);
    const res = await deliver(t, older, { at: clock });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ received: true });
    expect(await subscriptionRow(organizationId)).toEqual(before);
    expect(before.seats).toBe(8);
    expect(await eventRow(older.id)).toMatchObject({ outcome: 'stale', organization_id: organizationId });
  });

  it('keeps a canceled subscription canceled when an update of the same second arrives after the deletion', async () => {
    const { organizationId, customer } = await customerOrganization();
    const sub = { id: stripeId('sub'), customer, currentPeriodEnd: later(30 * DAY) };
    await send('customer.subscription.deleted', subscription({ ...sub, status: 'canceled' }), clock);
    const late = stripeEvent('customer.subscription.updated', subscription({ ...sub, status: 'active' }), clock);
    await deliver(t, late, { at: clock });
    expect((await subscriptionRow(organizationId)).status).toBe('canceled');
    expect((await eventRow(late.id)).outcome).toBe('stale');
  });

  it('lets a new subscription replace an ended one, and never an ended one replace a live one', async () => {
    const { organizationId, customer } = await customerOrganization();
    const old = { id: stripeId('sub'), customer, currentPeriodEnd: later(30 * DAY) };
    const fresh = { id: stripeId('sub'), customer, currentPeriodEnd: later(30 * DAY), price: PRICES.businessMonth };
    await send('customer.subscription.created', subscription({ ...fresh, status: 'active' }), later(1000));
    const ended = stripeEvent(
      'customer.subscription.deleted',
      subscription({ ...old, status: 'canceled' }),
      later(2000),
    );
    await deliver(t, ended, { at: clock });
    expect(await subscriptionRow(organizationId)).toMatchObject({
      stripe_subscription_id: fresh.id,
      status: 'active',
      tier: 'business',
    });
    expect((await eventRow(ended.id)).outcome).toBe('stale');
  });

  it('keeps a paid invoice paid when its older open state arrives late', async () => {
    const { organizationId, customer } = await customerOrganization();
    const id = stripeId('in');
    const base = { id, customer, amountDue: 1900, created: clock, periodStart: clock, periodEnd: later(30 * DAY) };
    await deliver(t, stripeEvent('invoice.paid', invoice({ ...base, status: 'paid', amountPaid: 1900 }), later(2000)), {
      at: clock,
    });
    const finalized = stripeEvent('invoice.finalized', invoice({ ...base, status: 'open' }), later(1000));
    const res = await deliver(t, finalized, { at: clock });
    expect(res.status).toBe(200);
    expect(await rows('select status, amount_paid from invoices where organization_id = ?', [organizationId])).toEqual([
      { status: 'paid', amount_paid: '1900' },
    ]);
    expect((await eventRow(finalized.id)).outcome).toBe('stale');
  });
});

describe('deliveries that are refused: 400, nothing recorded, nothing changed', () => {
  async function expectRefused(res: { status: number; body: any }, message: RegExp) {
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ success: false, code: 'BAD_REQUEST' });
    expect(res.body.message).toMatch(message);
  }

  it('a forged body, a wrong secret, a stale timestamp, a missing header, a body that is not JSON', async () => {
    const { organizationId, customer } = await customerOrganization();
    const event = stripeEvent(
      'customer.subscription.created',
      subscription({ id: stripeId('sub'), customer, status: 'active', currentPeriodEnd: later(30 * DAY) }),
      clock,
    );
    const payload = JSON.stringify(event);
    const before = await eventCount();

    const forged = payload.replace('"quantity":1', '"quantity":50');
    expect(forged).not.toBe(payload);
    await expectRefused(
      await deliver(t, forged, {
        at: clock,
        headers: { 'stripe-signature': signature(payload, { timestamp: clock }) },
      }),
      /does not match/,
    );
    await expectRefused(await deliver(t, event, { at: clock, secret: 'whsec_someone_else' }), /does not match/);
    await expectRefused(await deliver(t, event, { at: new Date(clock.getTime() - 301_000) }), /5 minutes/);
    await expectRefused(await deliver(t, event, { at: clock, headers: { 'stripe-signature': '' } }), /missing/);
    await expectRefused(
      await deliver(t, event, { at: clock, headers: { 'stripe-signature': 't=abc,v1=' } }),
      /does not match/,
    );
    const missing = await t.request('/api/webhook/stripe', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
    });
    await expectRefused(missing, /missing/);
    await expectRefused(await deliver(t, 'this is not json', { at: clock }), /not JSON/);
    await expectRefused(await deliver(t, '{"id": "evt_1", "type": 7}', { at: clock }), /not a Stripe event/);

    expect(await eventCount()).toBe(before);
    expect(await subscriptionRow(organizationId)).toBeUndefined();
    // The SDK's diagnostics can describe the secret; the answers never do.
    expect(JSON.stringify(missing.body)).not.toContain('whsec');
  });

  it('accepts a signature made four minutes ago, on the service clock', async () => {
    const { organizationId, customer } = await customerOrganization();
    const event = stripeEvent(
      'customer.subscription.created',
      subscription({ id: stripeId('sub'), customer, status: 'active', currentPeriodEnd: later(30 * DAY) }),
      clock,
    );
    expect((await deliver(t, event, { at: new Date(clock.getTime() - 240_000) })).status).toBe(200);
    expect((await subscriptionRow(organizationId)).status).toBe('active');
  });

  it('verifies the bytes whatever the media type says, and keeps them as sent (spacing included)', async () => {
    const { organizationId, customer } = await customerOrganization();
    const event = stripeEvent(
      'customer.subscription.created',
      subscription({ id: stripeId('sub'), customer, status: 'active', quantity: 9, currentPeriodEnd: later(30 * DAY) }),
      clock,
    );
    // Re-serialized JSON would differ from these bytes, and so would its signature.
    const res = await deliver(t, JSON.stringify(event, null, 3), {
      at: clock,
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(200);
    expect((await subscriptionRow(organizationId)).seats).toBe(9);
  });

  it('a signed event whose object is not shaped as Stripe sends it', async () => {
    const before = await eventCount();
    const res = await send(
      'customer.subscription.updated',
      { id: 'sub_1', customer: 'cus\u0000x', status: 'active', items: { data: [] } },
      clock,
    );
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BAD_REQUEST');
    expect(await eventCount()).toBe(before);
  });

  it('a body over 1 MiB, and one that is not UTF-8', async () => {
    const big = await deliver(t, `{"pad":"${'x'.repeat(1024 * 1024)}"}`, { at: clock });
    expect(big.status).toBe(400);
    expect(big.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: 'The request body exceeds 1 MiB' });
    const latin1 = await t.request('/api/webhook/stripe', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signature('{}', { timestamp: clock }) },
      body: new Uint8Array([0x7b, 0xe9, 0x7d]),
    });
    expect(latin1.status).toBe(415);
  });
});

describe('events recorded and not applied: 200', () => {
  it('an event for a customer no organization has: unknown-customer', async () => {
    const event = stripeEvent(
      'customer.subscription.created',
      subscription({
        id: stripeId('sub'),
        customer: stripeId('cus'),
        status: 'active',
        currentPeriodEnd: later(30 * DAY),
      }),
      clock,
    );
    const res = await deliver(t, event, { at: clock });
    expect(res.status).toBe(200);
    expect(await eventRow(event.id)).toMatchObject({ outcome: 'unknown-customer', organization_id: null });
    expect(await rows('select * from subscriptions where stripe_subscription_id = ?', [event.data.object.id])).toEqual(
      [],
    );

    const paid = stripeEvent(
      'invoice.paid',
      invoice({
        id: stripeId('in'),
        customer: stripeId('cus'),
        status: 'paid',
        amountDue: 1,
        created: clock,
        periodStart: clock,
        periodEnd: clock,
      }),
      clock,
    );
    expect((await deliver(t, paid, { at: clock })).status).toBe(200);
    expect((await eventRow(paid.id)).outcome).toBe('unknown-customer');
    const checkout = stripeEvent(
      'checkout.session.completed',
      checkoutSession({ organizationId: '01JAAAAAAAAAAAAAAAAAAAAAAA', customer: stripeId('cus') }),
      clock,
    );
    expect((await deliver(t, checkout, { at: clock })).status).toBe(200);
    expect((await eventRow(checkout.id)).outcome).toBe('unknown-customer');
  });

  it('an event type not handled, and a checkout that is not a subscription: ignored', async () => {
    const event = stripeEvent('customer.created', { id: stripeId('cus'), object: 'customer' }, clock);
    const res = await deliver(t, event, { at: clock });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ received: true });
    expect(await eventRow(event.id)).toMatchObject({ outcome: 'ignored', type: 'customer.created' });

    const owner = await signUp(t);
    const organizationId = await defaultOrganizationId(t, owner.userId);
    const payment = stripeEvent(
      'checkout.session.completed',
      checkoutSession({ organizationId, customer: stripeId('cus'), mode: 'payment' }),
      clock,
    );
    expect((await deliver(t, payment, { at: clock })).status).toBe(200);
    expect((await eventRow(payment.id)).outcome).toBe('ignored');
    expect(
      (await rows('select stripe_customer_id from organizations where id = ?', [organizationId]))[0].stripe_customer_id,
    ).toBeNull();
  });

  it('a checkout naming an organization that already has another customer: ignored, the customer kept', async () => {
    const { organizationId, customer } = await customerOrganization();
    const other = stripeEvent(
      'checkout.session.completed',
      checkoutSession({ organizationId, customer: stripeId('cus') }),
      clock,
    );
    expect((await deliver(t, other, { at: clock })).status).toBe(200);
    expect((await eventRow(other.id)).outcome).toBe('ignored');
    expect(
      (await rows('select stripe_customer_id from organizations where id = ?', [organizationId]))[0].stripe_customer_id,
    ).toBe(customer);
  });
});

describe('without billing configured', () => {
  it('answers 503 BILLING_NOT_CONFIGURED without a secret key, and without a webhook secret', async () => {
    for (const env of [{}, { STRIPE_SECRET_KEY: 'sk_test_webhooks' }]) {
      const bare = await startTestApp({ env });
      try {
        const res = await deliver(bare, stripeEvent('customer.created', { id: 'cus_1' }, new Date()), {
          at: new Date(),
        });
        expect(res.status).toBe(503);
        expect(res.body.code).toBe('BILLING_NOT_CONFIGURED');
      } finally {
        await bare.close();
      }
    }
  });
});
