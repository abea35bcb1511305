/**
 * /api/user/organizations/{organizationId}/payments/* over REST, with the real Stripe SDK talking to
 * a local Stripe stand-in: what the service answers, and what Stripe was sent.
 */
import { describe, expect, it } from 'vitest';
import { AuditLogSchema } from '../../entities/audit-log.js';
import { InvoiceSchema, SubscriptionSchema, type Subscription } from '../../entities/billing.js';
import { OrganizationSchema } from '../../entities/organization.js';
import { newId } from '../../server/ids.js';
import { asBrowser, postJson, signUp } from '../support/identity.js';
import { APP_URL, billingSuite, owner as ownerOf, type Owner } from '../support/billing.js';
import { addMember } from '../support/tenancy.js';

const billing = billingSuite();

const owner = (app = billing.app) => ownerOf(app);

const paymentsPath = (organizationId: string, route: string) =>
  `/api/user/organizations/${organizationId}/payments/${route}`;

const validCheckout = {
  tierId: 'pro',
  interval: 'month',
  seatCount: 5,
  successUrl: `${APP_URL}/billing/done?session={CHECKOUT_SESSION_ID}`,
  cancelUrl: '/billing',
};

const checkout = (user: Owner, body: Record<string, unknown> = {}, app = billing.app) =>
  postJson(app, paymentsPath(user.organizationId, 'checkout'), { ...validCheckout, ...body }, user.cookie);
const portal = (user: Owner, body: Record<string, unknown> = {}, app = billing.app) =>
  postJson(app, paymentsPath(user.organizationId, 'portal'), body, user.cookie);
const get = (user: { cookie: string }, path: string, app = billing.app) =>
  app.request(path, { headers: asBrowser(user.cookie) });

const em = (app = billing.app) => app.services.orm.em.fork();
const customerCreates = (organizationId: string) =>
  billing.stripe
    .calls('POST /v1/customers')
    .filter((call) => (call.params.metadata as any)?.organizationId === organizationId);
const auditActions = async (organizationId: string, app = billing.app) =>
  (await em(app).find(AuditLogSchema, { organizationId }, { orderBy: { createdAt: 'asc' } }))
    .map((entry) => entry.action)
    .filter((action) => action.startsWith('billing.'));

async function storeSubscription(organizationId: string, fields: Partial<Subscription> = {}, app = billing.app) {
  const now = new Date();
  const row: Subscription = {
    organizationId,
    stripeSubscriptionId: `sub_${newId()}`,
    tier: 'pro',
    interval: 'month',
    seats: 10,
    status: 'active',
    currentPeriodEnd: new Date('2027-01-31T00:00:00.000Z'),
    cancelAtPeriodEnd: false,
    pastDueSince: null,
    stripeUpdatedAt: now,
    updatedAt: now,
    ...fields,
  };
  await em(app).insert(SubscriptionSchema, row);
}

describe('POST …/payments/checkout', () => {
  it('makes the organization’s customer, then a subscription Checkout Session naming the organization', async () => {
    const ada = await owner();
    const res = await checkout(ada);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ success: true, code: 'OK', message: 'Checkout session created successfully' });
    expect(Object.keys(res.body.data).sort()).toEqual(['sessionId', 'url']);
    expect(res.body.data.sessionId).toMatch(/^cs_test_/);
    expect(res.body.data.url).toMatch(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);

    const [created] = customerCreates(ada.organizationId);
    const organization = await em().findOneOrFail(OrganizationSchema, { id: ada.organizationId });
    expect(created?.params).toMatchObject({
      email: ada.email,
      name: organization.name,
      metadata: { organizationId: ada.organizationId },
    });
    expect(created?.idempotencyKey).toMatch(new RegExp(`^customer-${ada.organizationId}-`));
    expect(organization.stripeCustomerId).toMatch(/^cus_/);
    expect(billing.stripe.customers.get(organization.stripeCustomerId!)?.metadata).toEqual({
      organizationId: ada.organizationId,
    });

    const session = billing.stripe.calls('POST /v1/checkout/sessions').at(-1)!;
    expect(session.params).toEqual({
      mode: 'subscription',
      customer: organization.stripeCustomerId,
      client_reference_id: ada.organizationId,
      line_items: [{ price: 'price_pro_month', quantity: '5' }],
      success_url: `${APP_URL}/billing/done?session={CHECKOUT_SESSION_ID}`,
      cancel_url: `${APP_URL}/billing`,
      metadata: { organizationId: ada.organizationId, tierId: 'pro', interval: 'month' },
      subscription_data: { metadata: { organizationId: ada.organizationId, tierId: 'pro' } },
    });
    expect(billing.stripe.checkoutSessions.get(res.body.data.sessionId)?.customer).toBe(organization.stripeCustomerId);

    const audited = await em().findOneOrFail(AuditLogSchema, {
      organizationId: ada.organizationId,
      action: 'billing.checkout_started',
    });
    expect(audited).toMatchObject({
      actorUserId: ada.userId,
      targetType: 'organization',
      targetId: ada.organizationId,
      metadata: { sessionId: res.body.data.sessionId, tierId: 'pro', interval: 'month', seatCount: 5 },
    });
  });

  it('keeps one customer per organization across checkouts', async () => {
    const ada = await owner();
    const first = await checkout(ada);
    const second = await checkout(ada, { tierId: 'business', seatCount: 2 });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(customerCreates(ada.organizationId)).toHaveLength(1);
    const sessions = [first, second].map((res) => billing.stripe.checkoutSessions.get(res.body.data.sessionId)!);
    expect(sessions[0]!.customer).toBe(sessions[1]!.customer);
    expect(sessions[1]!.line_items).toEqual([{ price: 'price_business_month', quantity: '2' }]);
  });

  it('makes one customer when two first checkouts run at once', async () => {
    const ada = await owner();
    billing.stripe.delay('POST /v1/customers', 300);
    try {
      const answers = await Promise.all([checkout(ada), checkout(ada, { interval: 'year' })]);
      expect(answers.map((res) => res.status)).toEqual([201, 201]);
      expect(customerCreates(ada.organizationId)).toHaveLength(1);
      const customers = answers.map((res) => billing.stripe.checkoutSessions.get(res.body.data.sessionId)!.customer);
      const stored = await em().findOneOrFail(OrganizationSchema, { id: ada.organizationId });
      expect(customers).toEqual([stored.stripeCustomerId, stored.stripeCustomerId]);
    } finally {
      billing.stripe.delay('POST /v1/customers', 0);
    }
  });

  it('refuses unknown, free and unpriced tiers and intervals, naming the field, and sends Stripe nothing', async () => {
    const ada = await owner();
    const before = billing.stripe.requests.length;
    const cases: [Record<string, unknown>, string][] = [
      [{ tierId: 'gold' }, 'tierId'],
      [{ tierId: 'free' }, 'tierId'],
      [{ tierId: 'business', interval: 'year' }, 'interval'],
      [{ interval: 'week' }, 'interval'],
      [{ tierId: 'x'.repeat(10_000) }, 'tierId'],
    ];
    for (const [body, field] of cases) {
      const res = await checkout(ada, body);
      expect(res.body, JSON.stringify(body)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', data: null });
      expect(res.body.meta.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
    expect(billing.stripe.requests.length).toBe(before);
    expect(await auditActions(ada.organizationId)).toEqual([]);
  });

  it('refuses seat counts below the members or above the tier’s maximum', async () => {
    const ada = await owner();
    for (const role of ['admin', 'member'] as const)
      await addMember(billing.app, ada.organizationId, (await signUp(billing.app)).userId, role);
    const before = billing.stripe.requests.length;
    for (const [seatCount, error] of [
      [2, 'Must be at least the 3 members of the organization'],
      [51, 'The Pro tier allows at most 50 seats'],
      [0, 'Must be at least 1'],
      [2.5, 'Must be a whole number'],
    ] as const) {
      const res = await checkout(ada, { seatCount });
      expect(res.body, String(seatCount)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
      expect(res.body.meta.errors).toHaveLength(1);
      expect(res.body.meta.errors[0].field).toBe('seatCount');
      if (error) expect(res.body.meta.errors[0].error).toBe(error);
    }
    expect(billing.stripe.requests.length).toBe(before);
    expect((await checkout(ada, { seatCount: 3 })).status).toBe(201);
  });

  it('refuses success and cancel URLs off the trusted origins', async () => {
    const ada = await owner();
    const before = billing.stripe.requests.length;
    for (const [body, fields] of [
      [{ successUrl: 'https://evil.example/done', cancelUrl: 'javascript:alert(1)' }, ['successUrl', 'cancelUrl']],
      [{ successUrl: '//evil.example/done' }, ['successUrl']],
      [{ cancelUrl: 'https://user:pass@app.example.com/' }, ['cancelUrl']],
      [{ successUrl: 'https://app.example.com.evil.example/' }, ['successUrl']],
      [{ successUrl: '' }, ['successUrl']],
    ] as const) {
      const res = await checkout(ada, body);
      expect(res.body, JSON.stringify(body)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
      expect(res.body.meta.errors.map((e: { field: string }) => e.field)).toEqual(fields);
    }
    expect(billing.stripe.requests.length).toBe(before);
    // TRUSTED_ORIGINS (the API's own origin by default) counts as well as APP_URL.
    expect((await checkout(ada, { successUrl: `${billing.app.services.config.trustedOrigins[0]}/ok` })).status).toBe(
      201,
    );
  });

  it('refuses a member without organization:manage-billing', async () => {
    const ada = await owner();
    const before = billing.stripe.requests.length;
    for (const role of ['admin', 'member'] as const) {
      const user = await signUp(billing.app);
      await addMember(billing.app, ada.organizationId, user.userId, role);
      const res = await checkout({ ...user, organizationId: ada.organizationId }, { seatCount: 10 });
      expect(res.body).toMatchObject({
        status: 403,
        code: 'INSUFFICIENT_PERMISSIONS',
        meta: { requiredPermissions: ['organization:manage-billing'] },
      });
    }
    expect(billing.stripe.requests.length).toBe(before);
  });

  it('sends an organization with a live subscription to the portal instead', async () => {
    const ada = await owner();
    await storeSubscription(ada.organizationId, { status: 'past_due' });
    const res = await checkout(ada);
    expect(res.body).toMatchObject({ status: 409, code: 'CONFLICT' });
    expect(res.body.message).toContain('customer portal');
    expect(customerCreates(ada.organizationId)).toHaveLength(0);
  });

  it('answers SERVICE_UNAVAILABLE and stores nothing when Stripe fails', async () => {
    const ada = await owner();
    billing.stripe.failNext(503);
    const res = await checkout(ada);
    expect(res.body).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', data: null, meta: { retryAfter: 5 } });
    expect(res.headers.get('retry-after')).toBe('5');
    const organization = await em().findOneOrFail(OrganizationSchema, { id: ada.organizationId });
    expect(organization.stripeCustomerId).toBeNull();
    expect(await auditActions(ada.organizationId)).toEqual([]);
    expect((await checkout(ada)).status).toBe(201);
  });

  it('answers BILLING_NOT_CONFIGURED without a Stripe key', async () => {
    const ada = await owner(billing.bare);
    const res = await checkout(ada, {}, billing.bare);
    expect(res.body).toMatchObject({ status: 503, code: 'BILLING_NOT_CONFIGURED', data: null });
    expect(await auditActions(ada.organizationId, billing.bare)).toEqual([]);
  });
});

describe('POST …/payments/portal', () => {
  it('opens the customer portal for the organization’s customer, back to APP_URL by default', async () => {
    const ada = await owner();
    expect((await checkout(ada)).status).toBe(201);
    const { stripeCustomerId } = await em().findOneOrFail(OrganizationSchema, { id: ada.organizationId });
    const res = await portal(ada);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ code: 'OK', message: 'Portal session created successfully' });
    expect(Object.keys(res.body.data)).toEqual(['url']);
    expect(res.body.data.url).toMatch(/^https:\/\/billing\.stripe\.com\/p\/session\//);
    expect(billing.stripe.calls('POST /v1/billing_portal/sessions').at(-1)?.params).toEqual({
      customer: stripeCustomerId,
      return_url: `${APP_URL}/`,
    });
    expect(await portal(ada, { returnUrl: `${APP_URL}/settings/billing` })).toMatchObject({ status: 201 });
    expect(billing.stripe.calls('POST /v1/billing_portal/sessions').at(-1)?.params.return_url).toBe(
      `${APP_URL}/settings/billing`,
    );
    expect(await auditActions(ada.organizationId)).toEqual([
      'billing.checkout_started',
      'billing.portal_opened',
      'billing.portal_opened',
    ]);
  });

  it('answers CONFLICT before the organization’s first checkout', async () => {
    const ada = await owner();
    const before = billing.stripe.requests.length;
    expect((await portal(ada)).body).toMatchObject({ status: 409, code: 'CONFLICT', data: null });
    expect(billing.stripe.requests.length).toBe(before);
  });

  it('refuses an untrusted return URL, unknown fields, a member without manage-billing, and no Stripe key', async () => {
    const ada = await owner();
    await checkout(ada);
    const untrusted = await portal(ada, { returnUrl: 'https://evil.example/' });
    expect(untrusted.body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
    expect(untrusted.body.meta.errors).toEqual([
      { field: 'returnUrl', error: expect.stringContaining('trusted origin'), location: 'body' },
    ]);
    const unknown = await portal(ada, { customer: 'cus_someone_else' });
    expect(unknown.body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
    expect(unknown.body.meta.errors).toEqual([{ field: 'customer', error: 'Unknown field', location: 'body' }]);
    const member = await signUp(billing.app);
    await addMember(billing.app, ada.organizationId, member.userId, 'member');
    expect((await portal({ ...member, organizationId: ada.organizationId })).body).toMatchObject({
      status: 403,
      code: 'INSUFFICIENT_PERMISSIONS',
    });
    const other = await owner(billing.bare);
    expect((await portal(other, {}, billing.bare)).body).toMatchObject({ status: 503, code: 'BILLING_NOT_CONFIGURED' });
  });
});

describe('GET …/payments/subscription', () => {
  const FREE = {
    tier: 'free',
    tierName: 'Free',
    interval: null,
    seats: 3,
    status: null,
    currentPeriodEnd: null,
    cancelAtPeriodEnd: false,
    limits: { seats: 3, projects: 3, eventsPerMonth: 10_000 },
  };

  it('reads as the free tier before any subscription, with or without Stripe', async () => {
    const ada = await owner();
    const res = await get(ada, paymentsPath(ada.organizationId, 'subscription'));
    expect(res.body).toMatchObject({ status: 200, code: 'OK', message: 'Subscription fetched successfully' });
    expect(res.body.data).toEqual({ ...FREE, billingConfigured: true });
    const grace = await owner(billing.bare);
    const without = await get(grace, paymentsPath(grace.organizationId, 'subscription'), billing.bare);
    expect(without.body.data).toEqual({ ...FREE, billingConfigured: false });
  });

  it('shows a live subscription’s tier, seats and period; a canceled one reads as free', async () => {
    const ada = await owner();
    await storeSubscription(ada.organizationId, { cancelAtPeriodEnd: true });
    const res = await get(ada, paymentsPath(ada.organizationId, 'subscription'));
    expect(res.body.data).toEqual({
      tier: 'pro',
      tierName: 'Pro',
      interval: 'month',
      seats: 10,
      status: 'active',
      currentPeriodEnd: '2027-01-31T00:00:00.000Z',
      cancelAtPeriodEnd: true,
      limits: { seats: 10, projects: 25, eventsPerMonth: 1_000_000 },
      billingConfigured: true,
    });
    await em().nativeUpdate(SubscriptionSchema, { organizationId: ada.organizationId }, { status: 'canceled' });
    const canceled = await get(ada, paymentsPath(ada.organizationId, 'subscription'));
    expect(canceled.body.data).toMatchObject({ tier: 'free', seats: 3, status: 'canceled', interval: 'month' });
  });

  it('refuses a member without manage-billing', async () => {
    const ada = await owner();
    const member = await signUp(billing.app);
    await addMember(billing.app, ada.organizationId, member.userId, 'member');
    expect((await get(member, paymentsPath(ada.organizationId, 'subscription'))).body).toMatchObject({
      status: 403,
      code: 'INSUFFICIENT_PERMISSIONS',
    });
  });
});

describe('GET …/payments/history', () => {
  async function storeInvoice(organizationId: string, createdAt: string, fields: Record<string, unknown> = {}) {
    const id = newId();
    await em().insert(InvoiceSchema, {
      id,
      organizationId,
      stripeInvoiceId: `in_${id}`,
      amountDue: 2900,
      amountPaid: 2900,
      currency: 'eur',
      status: 'paid',
      hostedInvoiceUrl: `https://invoice.stripe.com/i/${id}`,
      periodStart: new Date(createdAt),
      periodEnd: new Date(new Date(createdAt).getTime() + 30 * 86_400_000),
      stripeCreatedAt: new Date(createdAt),
      stripeUpdatedAt: new Date(createdAt),
      createdAt: new Date(),
      ...fields,
    });
    return id;
  }

  it('pages the organization’s invoices newest first, and nothing of another organization', async () => {
    const ada = await owner();
    const grace = await owner();
    const march = await storeInvoice(ada.organizationId, '2026-03-01T00:00:00.000Z');
    const january = await storeInvoice(ada.organizationId, '2026-01-01T00:00:00.000Z');
    const february = await storeInvoice(ada.organizationId, '2026-02-01T00:00:00.000Z', {
      status: 'open',
      amountPaid: 0,
      hostedInvoiceUrl: null,
      periodStart: null,
      periodEnd: null,
    });
    await storeInvoice(grace.organizationId, '2026-04-01T00:00:00.000Z');

    const first = await get(ada, `${paymentsPath(ada.organizationId, 'history')}?limit=2`);
    expect(first.body).toMatchObject({
      status: 200,
      message: 'Items fetched successfully',
      meta: { total: 3, offset: 0, limit: 2, hasMore: true },
    });
    expect(first.body.data.map((invoice: { id: string }) => invoice.id)).toEqual([march, february]);
    expect(first.body.data[0]).toEqual({
      id: march,
      stripeInvoiceId: `in_${march}`,
      amountDue: 2900,
      amountPaid: 2900,
      currency: 'eur',
      status: 'paid',
      hostedInvoiceUrl: `https://invoice.stripe.com/i/${march}`,
      periodStart: '2026-03-01T00:00:00.000Z',
      periodEnd: '2026-03-31T00:00:00.000Z',
      createdAt: '2026-03-01T00:00:00.000Z',
    });
    expect(first.body.data[1]).toMatchObject({
      status: 'open',
      amountPaid: 0,
      hostedInvoiceUrl: null,
      periodStart: null,
    });
    const rest = await get(ada, `${paymentsPath(ada.organizationId, 'history')}?offset=2&limit=2`);
    expect(rest.body.data.map((invoice: { id: string }) => invoice.id)).toEqual([january]);
    expect(rest.body.meta).toMatchObject({ total: 3, hasMore: false });
    expect((await get(ada, `${paymentsPath(ada.organizationId, 'history')}?limit=0`)).body).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
    });
  });

  it('answers an empty page without Stripe configured', async () => {
    const ada = await owner(billing.bare);
    const res = await get(ada, paymentsPath(ada.organizationId, 'history'), billing.bare);
    expect(res.body).toMatchObject({ status: 200, data: [], meta: { total: 0, hasMore: false } });
  });
});
