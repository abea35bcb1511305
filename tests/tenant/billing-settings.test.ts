/**
 * GET/PUT /api/user/organizations/{organizationId}/settings/billing over REST: what is stored, and
 * what reaches the organization's Stripe customer (a local Stripe stand-in) and when.
 */
import { describe, expect, it } from 'vitest';
import { AuditLogSchema } from '../../entities/audit-log.js';
import { OrganizationSchema } from '../../entities/organization.js';
import { asBrowser, postJson, signUp } from '../support/identity.js';
import { APP_URL, billingSuite, owner as ownerOf, type Owner } from '../support/billing.js';
import { addMember } from '../support/tenancy.js';

const billing = billingSuite();

const owner = (app = billing.app) => ownerOf(app);

const billingPath = (organizationId: string) => `/api/user/organizations/${organizationId}/settings/billing`;
const read = (user: { cookie: string }, organizationId: string, app = billing.app) =>
  app.request(billingPath(organizationId), { headers: asBrowser(user.cookie) });
const put = (user: { cookie: string }, organizationId: string, body: unknown, app = billing.app) =>
  app.request(billingPath(organizationId), {
    method: 'PUT',
    headers: asBrowser(user.cookie),
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const em = (app = billing.app) => app.services.orm.em.fork();

/** A first checkout, which makes the organization's Stripe customer; its id. */
async function subscribe(user: Owner): Promise<string> {
  const res = await postJson(
    billing.app,
    `/api/user/organizations/${user.organizationId}/payments/checkout`,
    { tierId: 'pro', interval: 'month', seatCount: 1, successUrl: `${APP_URL}/ok`, cancelUrl: `${APP_URL}/back` },
    user.cookie,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (await em().findOneOrFail(OrganizationSchema, { id: user.organizationId })).stripeCustomerId!;
}

const ADDRESS = {
  line1: '1 Rue de Rivoli',
  line2: 'Bâtiment B',
  city: 'Paris',
  postalCode: '75001',
  state: null,
  country: 'FR',
};

const EMPTY = { billingEmail: null, taxId: null, address: null };

describe('billing settings', () => {
  it('start empty, and store what is sent, leaving the rest', async () => {
    const ada = await owner();
    const empty = await read(ada, ada.organizationId);
    expect(empty.body).toMatchObject({ status: 200, code: 'OK', message: 'Billing settings fetched successfully' });
    expect(empty.body.data).toEqual(EMPTY);

    const all = await put(ada, ada.organizationId, {
      billingEmail: ' Billing@Example.COM ',
      taxId: ' FR 40 303265045 ',
      address: { ...ADDRESS, country: 'fr', line2: '  Bâtiment B ' },
    });
    expect(all.body).toMatchObject({ status: 200, code: 'OK', message: 'Billing settings updated successfully' });
    const stored = { billingEmail: 'billing@example.com', taxId: 'FR 40 303265045', address: ADDRESS };
    expect(all.body.data).toEqual(stored);
    expect((await read(ada, ada.organizationId)).body.data).toEqual(stored);

    const taxOnly = await put(ada, ada.organizationId, { taxId: 'FR40303265045' });
    expect(taxOnly.body.data).toEqual({ ...stored, taxId: 'FR40303265045' });
    const cleared = await put(ada, ada.organizationId, { address: null, billingEmail: null });
    expect(cleared.body.data).toEqual({ ...EMPTY, taxId: 'FR40303265045' });
    const noLine2 = await put(ada, ada.organizationId, { address: { ...ADDRESS, line2: '', state: 'Île-de-France' } });
    expect(noLine2.body.data.address).toEqual({ ...ADDRESS, line2: null, state: 'Île-de-France' });

    const audited = await em().find(
      AuditLogSchema,
      { organizationId: ada.organizationId, action: 'billing.settings_updated' },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    expect(audited.map((entry) => entry.metadata.changed)).toEqual([
      ['billingEmail', 'taxId', 'address'],
      ['taxId'],
      ['billingEmail', 'address'],
      ['address'],
    ]);
    expect(audited[0]).toMatchObject({ actorUserId: ada.userId, targetId: ada.organizationId });
    // No customer yet: Stripe hears of them at the first checkout.
    expect(billing.stripe.requests.filter((call) => call.path.startsWith('/v1/customers/'))).toHaveLength(0);
  });

  it('refuse malformed details, naming each field, and change nothing', async () => {
    const ada = await owner();
    const cases: [unknown, string[]][] = [
      [{ billingEmail: 'not-an-email' }, ['billingEmail']],
      [{ taxId: '' }, ['taxId']],
      [{ taxId: 'x'.repeat(65) }, ['taxId']],
      [{ taxId: '<script>' }, ['taxId']],
      [{ address: { ...ADDRESS, country: 'ZZ' } }, ['address.country']],
      [{ address: { ...ADDRESS, country: 'France' } }, ['address.country']],
      [{ address: { ...ADDRESS, line1: '  ' } }, ['address.line1']],
      [{ address: { city: 'Paris' } }, ['address.line1', 'address.postalCode', 'address.country']],
      [{ address: { ...ADDRESS, line1: 'x'.repeat(201) } }, ['address.line1']],
      [{ address: { ...ADDRESS, extra: 1 } }, ['address.extra']],
      [{ vatNumber: 'FR1' }, ['vatNumber']],
      [{ address: 'Paris' }, ['address']],
      [{ taxId: 'FR\u0000' }, ['taxId']],
    ];
    for (const [body, fields] of cases) {
      const res = await put(ada, ada.organizationId, body);
      expect(res.body, JSON.stringify(body)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', data: null });
      expect(res.body.meta.errors.map((e: { field: string }) => e.field).sort(), JSON.stringify(body)).toEqual(
        [...fields].sort(),
      );
    }
    expect((await put(ada, ada.organizationId, '{"taxId":')).body).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect((await read(ada, ada.organizationId)).body.data).toEqual(EMPTY);
    expect(
      await em().count(AuditLogSchema, { organizationId: ada.organizationId, action: 'billing.settings_updated' }),
    ).toBe(0);
  });

  it('refuse a member without organization:manage-billing', async () => {
    const ada = await owner();
    for (const role of ['admin', 'member'] as const) {
      const user = await signUp(billing.app);
      await addMember(billing.app, ada.organizationId, user.userId, role);
      for (const res of [await read(user, ada.organizationId), await put(user, ada.organizationId, EMPTY)])
        expect(res.body).toMatchObject({
          status: 403,
          code: 'INSUFFICIENT_PERMISSIONS',
          meta: { requiredPermissions: ['organization:manage-billing'] },
        });
    }
  });
});

describe('billing settings and the Stripe customer', () => {
  it('go into the customer made at the first checkout', async () => {
    const ada = await owner();
    await put(ada, ada.organizationId, { billingEmail: 'ap@example.com', taxId: 'DE123456789', address: ADDRESS });
    const customerId = await subscribe(ada);
    const created = billing.stripe.calls('POST /v1/customers').find((call) => call.params.email === 'ap@example.com');
    expect(created?.params).toMatchObject({
      email: 'ap@example.com',
      address: {
        line1: '1 Rue de Rivoli',
        line2: 'Bâtiment B',
        city: 'Paris',
        postal_code: '75001',
        state: '',
        country: 'FR',
      },
      invoice_settings: { custom_fields: [{ name: 'Tax ID', value: 'DE123456789' }] },
      metadata: { organizationId: ada.organizationId },
    });
    expect(billing.stripe.customers.get(customerId)).toMatchObject({
      email: 'ap@example.com',
      address: { city: 'Paris', state: null, country: 'FR' },
    });
  });

  it('update the customer at Stripe, then store; clearing a field clears it at Stripe', async () => {
    const ada = await owner();
    const customerId = await subscribe(ada);
    const res = await put(ada, ada.organizationId, {
      billingEmail: 'finance@example.com',
      taxId: 'GB 123 4567 89',
      address: ADDRESS,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const update = billing.stripe.calls('POST /v1/customers/:id').at(-1)!;
    expect(update.path).toBe(`/v1/customers/${customerId}`);
    expect(update.params).toMatchObject({
      email: 'finance@example.com',
      address: { line1: '1 Rue de Rivoli', postal_code: '75001', country: 'FR' },
      invoice_settings: { custom_fields: [{ name: 'Tax ID', value: 'GB 123 4567 89' }] },
    });
    expect(billing.stripe.customers.get(customerId)).toMatchObject({
      email: 'finance@example.com',
      address: { line1: '1 Rue de Rivoli', line2: 'Bâtiment B', country: 'FR' },
      invoice_settings: { custom_fields: [{ name: 'Tax ID', value: 'GB 123 4567 89' }] },
    });

    await put(ada, ada.organizationId, { taxId: null, address: null, billingEmail: null });
    expect(billing.stripe.calls('POST /v1/customers/:id').at(-1)!.params).toMatchObject({
      email: ada.email,
      address: '',
      invoice_settings: { custom_fields: '' },
    });
    expect(billing.stripe.customers.get(customerId)).toMatchObject({
      email: ada.email,
      address: null,
      invoice_settings: { custom_fields: null },
    });
    const audited = await em().findOneOrFail(
      AuditLogSchema,
      { organizationId: ada.organizationId, action: 'billing.settings_updated' },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    expect(audited.metadata).toMatchObject({ syncedToStripe: true });
  });

  it('store nothing when Stripe fails', async () => {
    const ada = await owner();
    await subscribe(ada);
    await put(ada, ada.organizationId, { billingEmail: 'before@example.com' });
    billing.stripe.failNext(500);
    const res = await put(ada, ada.organizationId, { billingEmail: 'after@example.com', address: ADDRESS });
    expect(res.body).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', data: null });
    expect(res.headers.get('retry-after')).toBe('5');
    expect((await read(ada, ada.organizationId)).body.data).toEqual({ ...EMPTY, billingEmail: 'before@example.com' });
    expect(
      await em().count(AuditLogSchema, { organizationId: ada.organizationId, action: 'billing.settings_updated' }),
    ).toBe(1);
  });

  it('are stored alone when Stripe is not configured', async () => {
    const ada = await owner(billing.bare);
    await em(billing.bare).nativeUpdate(
      OrganizationSchema,
      { id: ada.organizationId },
      { stripeCustomerId: 'cus_from_before' },
    );
    const before = billing.stripe.requests.length;
    const res = await put(ada, ada.organizationId, { billingEmail: 'ap@example.com' }, billing.bare);
    expect(res.body).toMatchObject({ status: 200, data: { ...EMPTY, billingEmail: 'ap@example.com' } });
    expect(billing.stripe.requests.length).toBe(before);
  });
});
