/**
 * A stand-in for Stripe's API on a loopback port, speaking only what the service calls, as Stripe
 * documents it: form-encoded bodies with bracket notation (`line_items[0][price]=…`, an empty value
 * unsets a field), `Authorization: Bearer <secret key>`, JSON answers, Stripe's error objects
 * (`{ error: { type, code, message, param } }`) and Idempotency-Key replays.
 *
 *   POST /v1/customers                  GET|POST /v1/customers/:id
 *   POST /v1/checkout/sessions          GET /v1/checkout/sessions/:id
 *   POST /v1/billing_portal/sessions
 *   GET  /v1/subscriptions/:id          GET /v1/invoices?customer=
 *
 *   const stripe = await startStripeStandIn({ secretKey: 'sk_test_x', prices: ['price_pro_month'] });
 *   env: STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_API_BASE: stripe.url
 *   stripe.calls('POST /v1/customers')      // what the service sent, parsed
 *   stripe.failNext(503)                     // the next call answers Stripe's api_error
 *   stripe.completeCheckout(sessionId)       // a paid checkout: its subscription and invoice exist
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

/** One request as the stand-in read it. */
export interface StripeCall {
  method: string;
  path: string;
  /** The form body (POST) or query (GET), nested as Stripe reads bracket notation. */
  params: FormObject;
  idempotencyKey: string | undefined;
  stripeVersion: string | undefined;
}

export interface StripeStandIn {
  /** STRIPE_API_BASE */
  url: string;
  /** STRIPE_SECRET_KEY: the only key the stand-in accepts. */
  secretKey: string;
  /** Every authenticated call, in order. */
  requests: StripeCall[];
  /** The calls to `METHOD /path` (`:id` in the pattern matches any id). */
  calls(route: string): StripeCall[];
  customers: Map<string, Record<string, any>>;
  checkoutSessions: Map<string, Record<string, any>>;
  subscriptions: Map<string, Record<string, any>>;
  /** The next `times` calls answer `status` with Stripe's error for it (no retry advised). */
  failNext(status: 400 | 402 | 429 | 500 | 503, times?: number): void;
  /** Holds every answer to `METHOD /path` for `ms`, so that concurrent calls overlap. */
  delay(route: string, ms: number): void;
  /** Completes a checkout as a paid one would: an active subscription and a paid invoice. */
  completeCheckout(sessionId: string): { subscription: Record<string, any>; invoice: Record<string, any> };
  stop(): Promise<void>;
}

/**
 * Reads `application/x-www-form-urlencoded` as Stripe does: `a[b][c]=v` nests, and an object whose
 * keys are 0..n-1 is a list (`line_items[0][price]`). Values stay strings.
 */
export function parseStripeForm(text: string): FormObject {
  const root: FormObject = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const names = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
    if (!names) continue;
    const path = [names[1]!, ...[...names[2]!.matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]!)];
    const last = path.pop()!;
    let node = root;
    for (const name of path) {
      const next = node[name];
      const child: FormObject = typeof next === 'object' && !Array.isArray(next) ? next : {};
      node[name] = child;
      node = child;
    }
    node[last] = value;
  }
  return listsOf(root) as FormObject;
}

function listsOf(value: FormValue): FormValue {
  if (typeof value === 'string' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const entries = keys.map((key) => [key, listsOf(value[key]!)] as const);
  const isList = keys.length > 0 && keys.every((key, i) => key === String(i));
  return isList ? entries.map(([, item]) => item) : Object.fromEntries(entries);
}

const ERRORS: Record<number, { type: string; code?: string; message: string }> = {
  400: { type: 'invalid_request_error', code: 'parameter_invalid', message: 'Invalid request (stand-in)' },
  402: { type: 'card_error', code: 'card_declined', message: 'Your card was declined.' },
  429: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests (stand-in)' },
  500: { type: 'api_error', message: 'An unknown error occurred (stand-in)' },
  503: { type: 'api_error', message: 'Stripe is temporarily unavailable (stand-in)' },
};

class StripeFailure extends Error {
  readonly status: number;
  readonly error: { type: string; code?: string; message: string; param?: string };

  constructor(status: number, error: StripeFailure['error']) {
    super(error.message);
    this.status = status;
    this.error = error;
  }
}

const noSuch = (kind: string, id: string, param = 'id') =>
  new StripeFailure(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${kind}: '${id}'`,
    param,
  });

const missing = (param: string) =>
  new StripeFailure(400, {
    type: 'invalid_request_error',
    code: 'parameter_missing',
    message: `Missing required param: ${param}.`,
    param,
  });

const text = (value: FormValue | undefined): string | null =>
  typeof value === 'string' && value !== '' ? value : null;
const record = (value: FormValue | undefined): Record<string, string> =>
  typeof value === 'object' && !Array.isArray(value)
    ? (Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === 'string' && v !== '')) as Record<
        string,
        string
      >)
    : {};

export async function startStripeStandIn(
  options: { secretKey?: string; prices?: string[] } = {},
): Promise<StripeStandIn> {
  const secretKey = options.secretKey ?? `sk_test_${randomBytes(12).toString('hex')}`;
  const prices = options.prices && new Set(options.prices);
  const requests: StripeCall[] = [];
  const customers = new Map<string, Record<string, any>>();
  const checkoutSessions = new Map<string, Record<string, any>>();
  const subscriptions = new Map<string, Record<string, any>>();
  const invoices = new Map<string, Record<string, any>>();
  const replays = new Map<string, { status: number; body: unknown }>();
  const delays = new Map<string, number>();
  const failures: { status: number; times: number }[] = [];
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
  const routeOf = (method: string, path: string) =>
    `${method} ${path.replace(/^(\/v1\/[a-z_/]+?\/)[a-z]+_\w+$/, '$1:id')}`;

  function address(value: FormValue | undefined): Record<string, string | null> | null {
    if (typeof value !== 'object' || Array.isArray(value)) return null;
    const fields = ['line1', 'line2', 'city', 'postal_code', 'state', 'country'];
    return Object.fromEntries(fields.map((field) => [field, text(value[field])]));
  }

  function applyCustomer(customer: Record<string, any>, params: FormObject): void {
    if ('email' in params) customer.email = text(params.email);
    if ('name' in params) customer.name = text(params.name);
    if ('address' in params) customer.address = address(params.address);
    if ('metadata' in params) customer.metadata = { ...customer.metadata, ...record(params.metadata) };
    const settings = params.invoice_settings;
    if (typeof settings === 'object' && !Array.isArray(settings) && 'custom_fields' in settings) {
      const fields = settings.custom_fields;
      customer.invoice_settings.custom_fields = Array.isArray(fields)
        ? fields.map((field) => (typeof field === 'object' && !Array.isArray(field) ? record(field) : {}))
        : null;
    }
  }

  function customerOf(id: string | null, param = 'customer'): Record<string, any> {
    if (!id) throw missing(param);
    const customer = customers.get(id);
    if (!customer || customer.deleted) throw noSuch('customer', id, param);
    return customer;
  }

  function handle(method: string, path: string, params: FormObject): unknown {
    const id = path.split('/')[3] ?? '';
    if (method === 'POST' && path === '/v1/customers') {
      const customer: Record<string, any> = {
        id: newId('cus'),
        object: 'customer',
        address: null,
        created: nowSeconds(),
        email: null,
        invoice_settings: { custom_fields: null, default_payment_method: null, footer: null },
        livemode: false,
        metadata: {},
        name: null,
      };
      applyCustomer(customer, params);
      customers.set(customer.id, customer);
      return customer;
    }
    if (path === `/v1/customers/${id}` && (method === 'GET' || method === 'POST')) {
      const customer = customerOf(id, 'id');
      if (method === 'POST') applyCustomer(customer, params);
      return customer;
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const customer = customerOf(text(params.customer));
      if (params.mode !== 'subscription') throw missing('mode');
      const items = Array.isArray(params.line_items) ? params.line_items : [];
      if (items.length === 0) throw missing('line_items');
      for (const [i, item] of items.entries()) {
        const price = typeof item === 'object' && !Array.isArray(item) ? text(item.price) : null;
        if (!price || (prices && !prices.has(price))) throw noSuch('price', price ?? '', `line_items[${i}][price]`);
      }
      if (!text(params.success_url)) throw missing('success_url');
      const session: Record<string, any> = {
        id: newId('cs_test'),
        object: 'checkout.session',
        cancel_url: text(params.cancel_url),
        client_reference_id: text(params.client_reference_id),
        created: nowSeconds(),
        customer: customer.id,
        expires_at: nowSeconds() + 86_400,
        line_items: items,
        livemode: false,
        metadata: record(params.metadata),
        mode: 'subscription',
        payment_status: 'unpaid',
        status: 'open',
        subscription: null,
        subscription_data: params.subscription_data ?? null,
        success_url: text(params.success_url),
      };
      session.url = `https://checkout.stripe.com/c/pay/${session.id}#${randomBytes(16).toString('base64url')}`;
      checkoutSessions.set(session.id, session);
      return session;
    }
    if (method === 'GET' && path === `/v1/checkout/sessions/${id}`) {
      const session = checkoutSessions.get(id);
      if (!session) throw noSuch('checkout.session', id);
      return session;
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') {
      const customer = customerOf(text(params.customer));
      const session = {
        id: newId('bps'),
        object: 'billing_portal.session',
        created: nowSeconds(),
        customer: customer.id,
        livemode: false,
        return_url: text(params.return_url),
        url: `https://billing.stripe.com/p/session/test_${randomBytes(16).toString('base64url')}`,
      };
      return session;
    }
    if (method === 'GET' && path === `/v1/subscriptions/${id}`) {
      const subscription = subscriptions.get(id);
      if (!subscription) throw noSuch('subscription', id);
      return subscription;
    }
    if (method === 'GET' && path === '/v1/invoices') {
      const customer = text(params.customer);
      const data = [...invoices.values()].filter((invoice) => !customer || invoice.customer === customer).reverse();
      return { object: 'list', url: '/v1/invoices', has_more: false, data };
    }
    throw new StripeFailure(404, {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${method}: ${path}).`,
    });
  }

  const server = http.createServer(async (req, res) => {
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req'), ...headers });
      res.end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      return answer(401, {
        error: {
          type: 'invalid_request_error',
          message: `Invalid API Key provided: ${(req.headers.authorization ?? '').slice(7, 15)}***`,
        },
      });
    }
    const params = parseStripeForm(method === 'GET' ? url.search.slice(1) : Buffer.concat(chunks).toString('utf8'));
    const idempotencyKey = req.headers['idempotency-key'] as string | undefined;
    const stripeVersion = req.headers['stripe-version'] as string | undefined;
    requests.push({ method, path: url.pathname, params, idempotencyKey, stripeVersion });
    const wait = delays.get(routeOf(method, url.pathname));
    if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
    const replay = idempotencyKey && method === 'POST' ? replays.get(idempotencyKey) : undefined;
    if (replay) return answer(replay.status, replay.body, { 'idempotent-replayed': 'true' });
    const failure = failures[0];
    if (failure) {
      if (--failure.times <= 0) failures.shift();
      return answer(failure.status, { error: ERRORS[failure.status] }, { 'stripe-should-retry': 'false' });
    }
    let status = 200;
    let body: unknown;
    try {
      body = handle(method, url.pathname, params);
    } catch (error) {
      const failure = error instanceof StripeFailure ? error : new StripeFailure(500, { ...ERRORS[500]! });
      status = failure.status;
      body = { error: failure.error };
    }
    if (idempotencyKey && method === 'POST') replays.set(idempotencyKey, { status, body });
    answer(status, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    secretKey,
    requests,
    calls: (route) =>
      requests.filter((call) => routeOf(call.method, call.path) === route || `${call.method} ${call.path}` === route),
    customers,
    checkoutSessions,
    subscriptions,
    failNext(status, times = 1) {
      failures.push({ status, times });
    },
    delay(route, ms) {
      delays.set(route, ms);
    },
    completeCheckout(sessionId) {
      const session = checkoutSessions.get(sessionId);
      if (!session) throw new Error(`no checkout session ${sessionId}`);
      const now = nowSeconds();
      const item = session.line_items[0];
      const subscription: Record<string, any> = {
        id: newId('sub'),
        object: 'subscription',
        customer: session.customer,
        status: 'active',
        cancel_at_period_end: false,
        created: now,
        metadata: record(session.subscription_data?.metadata),
        items: {
          object: 'list',
          data: [
            {
              id: newId('si'),
              object: 'subscription_item',
              price: { id: item.price, object: 'price' },
              quantity: Number(item.quantity ?? 1),
              current_period_start: now,
              current_period_end: now + 30 * 86_400,
            },
          ],
        },
      };
      const invoice: Record<string, any> = {
        id: newId('in'),
        object: 'invoice',
        customer: session.customer,
        amount_due: 1000 * subscription.items.data[0].quantity,
        amount_paid: 1000 * subscription.items.data[0].quantity,
        currency: 'usd',
        status: 'paid',
        hosted_invoice_url: `https://invoice.stripe.com/i/test_${randomBytes(12).toString('base64url')}`,
        period_start: now,
        period_end: now + 30 * 86_400,
        created: now,
      };
      subscriptions.set(subscription.id, subscription);
      invoices.set(invoice.id, invoice);
      Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: subscription.id });
      return { subscription, invoice };
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
