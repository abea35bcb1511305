/**
 * Hostile input, generated from the OpenAPI document for every REST operation, and checked on tRPC
 * and direct calls too:
 * - a NUL byte in any string of an input (path parameter, query parameter, body field, nested value
 *   or key) is 400 VALIDATION_ERROR naming each such field and where it came from;
 * - JSON nested thousands of levels deep is 400 BAD_REQUEST, refused while the body is parsed, on
 *   every operation that reads a body: those that document one, and every DELETE (the REST adapter
 *   reads a DELETE's body, documented or not);
 * and never a 5xx, never a row written, always the envelope, and always spending the budget.
 * A new operation is covered the moment it is documented: the suite counts what it covered.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../procedures/index.js';
import { newId } from '../../server/ids.js';
import { callerFor, startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, signUp, type SignedUp } from '../support/identity.js';
import { defaultOrganizationId } from '../support/tenancy.js';

const ENVELOPE_KEYS = ['code', 'data', 'message', 'meta', 'status', 'success'];
const NUL = '\u0000';

let t: TestApp;
let owner: SignedUp;
let organizationId: string;
let doc: any;

beforeAll(async () => {
  t = await startTestApp({
    env: {
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_GLOBAL_POINTS: '100000',
      RATE_LIMIT_SIGN_UP_POINTS: '1000',
      // Billing configured, so that the Stripe webhook judges what it receives rather than answer 503.
      STRIPE_SECRET_KEY: 'sk_test_hostile',
      STRIPE_WEBHOOK_SECRET: 'whsec_hostile',
    },
  });
  owner = await signUp(t);
  organizationId = await defaultOrganizationId(t, owner.userId);
  doc = await SwaggerParser.dereference((await t.request('/api/openapi.json')).body);
});
afterAll(async () => {
  await t?.close();
});

let clients = 0;
/** Each request comes from an address of its own, so that its budget starts full. */
function freshClient(): string {
  clients++;
  return `10.${(clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}`;
}

type Answer = Awaited<ReturnType<TestApp['request']>>;

/** A refusal as the contract shapes it: 400, one of `codes`, the six envelope keys, and budget spent. */
function expectRefused(res: Answer, codes: string[], label: string) {
  expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(400);
  expect(Object.keys(res.body).sort(), label).toEqual(ENVELOPE_KEYS);
  expect(codes, label).toContain(res.body.code);
  expect(res.body).toMatchObject({ success: false, status: 400, data: null });
  // The client started with a full budget: whatever was reported, something was spent.
  expect(Number(res.headers.get('ratelimit-remaining')), label).toBeLessThan(
    Number(res.headers.get('ratelimit-limit')),
  );
}

/** The fields a VALIDATION_ERROR names, as `location:field`. */
const named = (res: Answer): string[] =>
  (res.body.meta.errors ?? []).map((e: { field: string; location: string }) => `${e.location}:${e.field}`).sort();

function sendAs(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return t.request(path, {
    method,
    headers: { ...asBrowser(owner.cookie), 'x-forwarded-for': freshClient(), ...headers },
    body,
  });
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Every table's row count, to show that no refused request wrote anything. */
async function rowCounts(): Promise<Record<string, number>> {
  const connection = t.services.orm.em.fork().getConnection();
  const tables = await connection.execute<{ table_name: string }[]>(
    "select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'",
  );
  const counts: Record<string, number> = {};
  for (const { table_name: table } of tables) {
    const [row] = await connection.execute<{ n: string }[]>(`select count(*) as n from "${table}"`);
    counts[table] = Number(row!.n);
  }
  return counts;
}

describe('NUL bytes', () => {
  it('in a query parameter, on REST', async () => {
    const res = await sendAs('GET', '/api/user/organizations?q=a%00b');
    expectRefused(res, ['VALIDATION_ERROR'], 'q');
    expect(named(res)).toEqual(['query:q']);
  });

  it('in a path parameter, on REST', async () => {
    const organization = await sendAs('GET', '/api/user/organizations/%00');
    expectRefused(organization, ['VALIDATION_ERROR'], 'organizationId');
    expect(named(organization)).toEqual(['params:organizationId']);
    const project = await sendAs('GET', `/api/user/organizations/${organizationId}/projects/${newId()}%00`);
    expectRefused(project, ['VALIDATION_ERROR'], 'projectId');
    expect(named(project)).toEqual(['params:projectId']);
  });

  it('in a body field, on REST, and nothing is written', async () => {
    const before = await rowCounts();
    const res = await sendAs('POST', '/api/user/organizations', JSON.stringify({ name: `Acme${NUL}` }));
    expectRefused(res, ['VALIDATION_ERROR'], 'name');
    expect(named(res)).toEqual(['body:name']);
    expect(await rowCounts()).toEqual(before);
  });

  it('in a nested value and in a nested key, on REST, and nothing is written', async () => {
    const before = await rowCounts();
    const value = await sendAs(
      'POST',
      '/api/auth/api-key/create',
      JSON.stringify({ name: 'ci', scopes: ['user:read'], metadata: { note: `a${NUL}b` } }),
    );
    expectRefused(value, ['VALIDATION_ERROR'], 'metadata value');
    expect(named(value)).toEqual(['body:metadata.note']);
    const key = await sendAs(
      'POST',
      '/api/auth/api-key/create',
      JSON.stringify({ name: 'ci', scopes: ['user:read'], metadata: { [`a${NUL}b`]: 'x' } }),
    );
    expectRefused(key, ['VALIDATION_ERROR'], 'metadata key');
    expect(named(key)).toEqual(['body:metadata.a\\u0000b']);
    // The key is named escaped: the answer never carries the NUL back.
    expect(
      [key.body.message, ...key.body.meta.errors.map((e: { field: string }) => e.field)].some((text: string) =>
        text.includes(NUL),
      ),
    ).toBe(false);
    expect(await rowCounts()).toEqual(before);
  });

  it('on tRPC, in a mutation body and in a query input', async () => {
    const headers = { ...asBrowser(owner.cookie), 'x-forwarded-for': freshClient() };
    const mutation = await t.request('/trpc/user.organizations.create', {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: `Acme${NUL}` }),
    });
    expect(mutation.status).toBe(400);
    expect(mutation.body.error.data).toMatchObject({
      code: 'VALIDATION_ERROR',
      meta: { errors: [expect.objectContaining({ field: 'name', location: 'body' })] },
    });
    const input = encodeURIComponent(JSON.stringify({ q: `a${NUL}b` }));
    const query = await t.request(`/trpc/user.organizations.list?input=${input}`, { headers });
    expect(query.status).toBe(400);
    expect(query.body.error.data).toMatchObject({
      code: 'VALIDATION_ERROR',
      meta: { errors: [expect.objectContaining({ field: 'q', location: 'query' })] },
    });
    expect(Number(query.headers.get('ratelimit-remaining'))).toBeLessThan(
      Number(mutation.headers.get('ratelimit-remaining')),
    );
  });

  it('on a direct call', async () => {
    const caller = callerFor(t.services, {
      principal: { kind: 'session', userId: owner.userId, email: owner.email, emailVerified: true, scopes: new Set() },
    });
    await expect(caller.user.organizations.create({ name: `Acme${NUL}` })).rejects.toMatchObject({
      apiCode: 'VALIDATION_ERROR',
      meta: { errors: [{ field: 'name', error: expect.any(String), location: 'body' }] },
    });
  });
});

describe('deeply nested JSON', () => {
  it('is refused while parsing on REST, with or without an Idempotency-Key, at the top or inside a record', async () => {
    const before = await rowCounts();
    const top = await sendAs('POST', '/api/user/organizations', nested(100_000));
    expectRefused(top, ['BAD_REQUEST'], 'top level');
    const keyed = await sendAs('POST', '/api/user/organizations', nested(100_000), {
      'idempotency-key': `deep-${newId()}`,
    });
    expectRefused(keyed, ['BAD_REQUEST'], 'with an Idempotency-Key');
    const inside = await sendAs(
      'POST',
      '/api/auth/api-key/create',
      `{"name":"ci","scopes":["user:read"],"metadata":{"a":${nested(100_000)}}}`,
    );
    expectRefused(inside, ['BAD_REQUEST'], 'inside metadata');
    // 64 levels are still fine.
    const shallow = await sendAs(
      'POST',
      '/api/auth/api-key/create',
      `{"name":"ci","scopes":["user:read"],"metadata":{"a":${nested(62)}}}`,
    );
    expect(shallow.status, JSON.stringify(shallow.body)).toBe(200);
    expect(await rowCounts()).toEqual({ ...before, api_keys: before.api_keys! + 1 });
  });

  it('is refused while parsing on tRPC, in a body and in a query input', async () => {
    const headers = { ...asBrowser(owner.cookie), 'x-forwarded-for': freshClient() };
    const body = await t.request('/trpc/auth.apiKey.create', {
      method: 'POST',
      headers,
      body: `{"name":"ci","scopes":["user:read"],"metadata":{"a":${nested(100_000)}}}`,
    });
    expect(body.status).toBe(400);
    expect(body.body.error.data.code).toBe('BAD_REQUEST');
    const query = await t.request(
      `/trpc/user.organizations.list?input=${encodeURIComponent(`{"q":${nested(1000)}}`)}`,
      { headers },
    );
    expect(query.status).toBe(400);
    expect(query.body.error.data.code).toBe('BAD_REQUEST');
  });
});

/** A value of the schema's type, with NUL in every string; `poison` false leaves strings clean. */
function sample(schema: any, poison: boolean, path: string[], injected: string[]): unknown {
  const string = (value: string) => {
    if (!poison) return value;
    injected.push(path.join('.'));
    return `${value}${NUL}`;
  };
  if (schema.anyOf)
    return sample(schema.anyOf.find((s: any) => s.type !== 'null') ?? schema.anyOf[0], poison, path, injected);
  if (schema.enum) return poison ? string(String(schema.enum[0])) : schema.enum[0];
  switch (schema.type) {
    case 'string':
      if (schema.format === 'email') return string('ada@example.com');
      if (schema.format === 'uri') return string('https://example.com/');
      if (schema.format === 'date-time') return string(new Date().toISOString());
      if (schema.pattern?.includes('26')) return string(newId());
      return string('plausible');
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'array':
      return [sample(schema.items ?? { type: 'string' }, poison, [...path, '0'], injected)];
    case 'object': {
      const value: Record<string, unknown> = {};
      for (const [name, property] of Object.entries<any>(schema.properties ?? {}))
        value[name] = sample(property, poison, [...path, name], injected);
      // A record (free-form object) gets one entry, so that its values are poisoned too.
      if (!schema.properties && schema.additionalProperties !== false)
        value.note = sample({ type: 'string' }, poison, [...path, 'note'], injected);
      return value;
    }
    default:
      return string('plausible');
  }
}

/** A record field of a body schema (a free-form object), if it has one. */
const recordField = (schema: any): string | undefined =>
  Object.entries<any>(schema.properties ?? {}).find(
    ([, p]) => p.type === 'object' && !p.properties && p.additionalProperties !== false,
  )?.[0];

interface Operation {
  method: string;
  path: string;
  parameters: { name: string; in: 'path' | 'query' }[];
  body?: any;
}

/** The operation's URL under /api, each path parameter filled by `value(name)`. */
const urlOf = (op: Operation, value: (name: string) => string) =>
  new URL(`http://x/api${op.path.replace(/\{(\w+)\}/g, (_, name: string) => value(name))}`);

/** Where a path parameter's value comes from: the owner's organization, else a well-formed stand-in. */
const wellFormed = (name: string) => (name === 'organizationId' ? organizationId : newId());

describe('every documented REST operation', () => {
  it('refuses NUL bytes and deep JSON on each, never with a 5xx and never writing a row', async () => {
    const before = await rowCounts();
    const operations: Operation[] = [];
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        operations.push({
          method: method.toUpperCase(),
          path,
          parameters: operation.parameters ?? [],
          body: operation.requestBody?.content['application/json']?.schema,
        });
      }
    }
    expect(operations.length).toBeGreaterThan(50);

    const covered = new Set<string>();
    for (const op of operations) {
      const label = `${op.method} ${op.path}`;
      const send = (url: URL, body?: string) => sendAs(op.method, `${url.pathname}${url.search}`, body);
      const pathParams = op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
      const queryParams = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);

      // Path parameters reach the REST layer percent-encoded and are refused there, before the body
      // is read; so they are poisoned in a request of their own.
      if (pathParams.length > 0) {
        const res = await send(
          urlOf(op, (name) => `${wellFormed(name)}%00`),
          op.body ? JSON.stringify(sample(op.body, false, [], [])) : undefined,
        );
        expectRefused(res, ['VALIDATION_ERROR'], `${label} with NUL in its path`);
        expect(named(res), label).toEqual(pathParams.map((name) => `params:${name}`).sort());
      }

      // A provider's webhook takes its body as signed bytes (meta.rawBody), never parsed: a NUL byte
      // in them is refused as one in its `payload`, and deep JSON, like any unsigned body, as BAD_REQUEST.
      if (op.path.startsWith('/webhook/')) {
        const res = await send(urlOf(op, wellFormed), `{"k":"${NUL}"}`);
        expectRefused(res, ['VALIDATION_ERROR'], `${label} with NUL in its body`);
        expect(named(res), label).toEqual(['body:payload']);
        expectRefused(await send(urlOf(op, wellFormed), nested(10_000)), ['BAD_REQUEST'], `${label} with deep JSON`);
        covered.add(label);
        continue;
      }

      const fields: string[] = [];
      const url = urlOf(op, wellFormed);
      for (const name of queryParams) {
        url.searchParams.set(name, `1${NUL}`);
        fields.push(`query:${name}`);
      }
      const bodyFields: string[] = [];
      let body = op.body ? (sample(op.body, true, [], bodyFields) as Record<string, unknown>) : undefined;
      // A body without a single string field (`{}`) is poisoned through a key instead.
      if (body && bodyFields.length === 0) {
        body = { ...body, [`k${NUL}`]: 1 };
        bodyFields.push('k\\u0000');
      }
      fields.push(...bodyFields.map((field) => `body:${field}`));
      if (fields.length > 0) {
        const res = await send(url, body && JSON.stringify(body));
        expectRefused(res, ['VALIDATION_ERROR'], `${label} with NUL in its query and body`);
        expect(named(res), label).toEqual(fields.sort());
      } else if (pathParams.length === 0) {
        expect(op.method, `${label} takes no input; only reads may`).toBe('GET');
        // Nothing documented to poison (no parameters, no body): an undocumented parameter is ignored
        // (API.md section 5), and still answered in the envelope, without a 5xx, within the budget.
        url.searchParams.set('probe', NUL);
        const res = await send(url);
        expect(res.status, label).toBeLessThan(500);
        expect(Object.keys(res.body).sort(), label).toEqual(ENVELOPE_KEYS);
        expect(Number(res.headers.get('ratelimit-remaining')), label).toBeLessThan(
          Number(res.headers.get('ratelimit-limit')),
        );
      }

      if (op.body) {
        const record = recordField(op.body);
        if (record) {
          const clean = sample(op.body, false, [], []) as Record<string, unknown>;
          const res = await send(urlOf(op, wellFormed), JSON.stringify({ ...clean, [record]: { [`k${NUL}`]: 'v' } }));
          expectRefused(res, ['VALIDATION_ERROR'], `${label} with NUL in a key of ${record}`);
          expect(named(res), label).toEqual([`body:${record}.k\\u0000`]);
        }
      }
      if (op.body || op.method === 'DELETE') {
        const res = await send(urlOf(op, wellFormed), nested(10_000));
        expectRefused(res, ['BAD_REQUEST'], `${label} with deep JSON`);
      }
      covered.add(label);
    }

    expect(await rowCounts()).toEqual(before);
    expect(covered.size).toBe(operations.length);
    // Some DELETEs document no body, and were sent deep JSON all the same.
    expect(operations.some((op) => op.method === 'DELETE' && !op.body)).toBe(true);
    expect(covered.size).toBe(Object.values<any>(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0));
  }, 120_000);

  it('is the whole of the router’s REST procedures (the document is generated from them)', () => {
    const procedures = Object.values<any>(appRouter._def.procedures).filter((p) => p._def.meta?.openapi);
    expect(Object.values<any>(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0)).toBe(procedures.length);
  });
});
