/**
 * The REST dispatcher: it serves exactly the operations the OpenAPI document lists, and reads each
 * procedure's input by the contract's rules (adapters/rest/input.ts): query values coerced to the
 * types the schema declares, single values promoted to lists, empty values dropped, a DELETE's JSON
 * body joining its query, path parameters winning, a void input receiving nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { restRoutes } from '../../adapters/rest/routes.js';
import { appRouter } from '../../procedures/index.js';
import { mergeRouters, publicProcedure, router } from '../../server/trpc.js';
import { startTestApp, type TestApp } from '../support/app.js';

const Echo = z.object({ input: z.string() });
const echo = ({ input }: { input: unknown }) => ({ input: JSON.stringify(input ?? null) });

const contract = router({
  query: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/public/contract/query' }, message: 'Read' })
    .input(
      z.object({
        n: z.number().optional(),
        flag: z.boolean().optional(),
        tags: z.array(z.string()).optional(),
        ids: z.array(z.number()).optional(),
        s: z.string().optional(),
      }),
    )
    .output(Echo)
    .query(echo),
  remove: publicProcedure
    .meta({ openapi: { method: 'DELETE', path: '/public/contract/things/{thingId}' }, message: 'Removed' })
    .input(z.object({ thingId: z.string(), reason: z.string().optional(), count: z.number().optional() }))
    .output(Echo)
    .mutation(echo),
  create: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/public/contract/things/{thingId}' }, message: 'Created' })
    .input(z.object({ thingId: z.string(), n: z.number(), nested: z.object({ m: z.number() }).optional() }))
    .output(Echo)
    .mutation(echo),
  strict: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/public/contract/strict' }, message: 'Read' })
    .input(z.strictObject({ s: z.string() }))
    .output(Echo)
    .query(echo),
  nothing: publicProcedure
    .meta({ openapi: { method: 'GET', path: '/public/contract/nothing' }, message: 'Nothing' })
    .input(z.void())
    .output(Echo)
    .query(echo),
});

const contractRouter = mergeRouters(appRouter, router({ contract }));

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ router: contractRouter, env: { RATE_LIMIT_GLOBAL_POINTS: '10000' } });
});
afterAll(async () => {
  await t?.close();
});

const received = (res: { body: any }) => JSON.parse(res.body.data.input);

describe('the operations served', () => {
  it('are exactly those the OpenAPI document lists, and each is answered by its procedure', async () => {
    const doc = (await t.request('/api/openapi.json')).body;
    const documented = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const served = restRoutes(contractRouter).map((route) => `${route.method} ${route.path}`);
    expect([...documented].sort()).toEqual([...served].sort());
    expect(new Set(served).size).toBe(served.length);

    for (const route of restRoutes(contractRouter)) {
      const path = route.path.replace(/\{(\w+)\}/g, '01ARZ3NDEKTSV4RRFFQ69G5FAV');
      const res = await t.request(`/api${path}`, {
        method: route.method,
        redirect: 'manual',
        ...(route.method === 'GET' || route.method === 'DELETE'
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: '{}' }),
      });
      const label = `${route.method} ${route.path}`;
      expect(res.status, label).not.toBe(405);
      expect(String(res.body?.message ?? ''), label).not.toMatch(/^No (route|such route)/);
      // A redirect (meta.redirect) answers 303 with a Location and no body; anything else, the envelope.
      if (route.meta.redirect && res.status === 303) expect(res.headers.get('location'), label).toBeTruthy();
      else if (!route.meta.stream) expect(res.body.success, label).toBe(res.status < 400);
    }
  });
});

describe('input from the query', () => {
  it('coerces numbers and booleans, promotes single values to lists and drops empty values', async () => {
    const res = await t.request('/api/public/contract/query?n=5&flag=1&tags=a&ids=1&ids=2&s=');
    expect(res.status).toBe(200);
    expect(received(res)).toEqual({ n: 5, flag: true, tags: ['a'], ids: [1, 2] });
  });

  it('refuses a value that does not coerce, located in the query', async () => {
    const res = await t.request('/api/public/contract/query?n=abc');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    expect(res.body.meta.errors).toEqual([expect.objectContaining({ field: 'n', location: 'query' })]);
  });

  it('ignores parameters the input does not name, even where the schema refuses unknown fields', async () => {
    const res = await t.request('/api/public/contract/strict?s=kept&utm_source=mail&fbclid=x');
    expect(res.status).toBe(200);
    expect(received(res)).toEqual({ s: 'kept' });
  });

  it('gives a void input nothing, whatever the query holds', async () => {
    const res = await t.request('/api/public/contract/nothing?x=1');
    expect(res.status).toBe(200);
    expect(received(res)).toBeNull();
  });
});

describe('input of a DELETE', () => {
  it('joins its JSON body to its query, the body winning, and coerces both', async () => {
    const res = await t.request('/api/public/contract/things/thing-1?reason=query&count=2', {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'body' }),
    });
    expect(res.status).toBe(200);
    expect(received(res)).toEqual({ thingId: 'thing-1', reason: 'body', count: 2 });
  });
});

describe('input from a JSON body', () => {
  it('coerces declared numbers at any depth, and the path parameter wins over a body field', async () => {
    const res = await t.request('/api/public/contract/things/from-path', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ thingId: 'from-body', n: '7', nested: { m: '8' } }),
    });
    expect(res.status).toBe(200);
    expect(received(res)).toEqual({ thingId: 'from-path', n: 7, nested: { m: 8 } });
  });

  it('locates a bad body field in the body', async () => {
    const res = await t.request('/api/public/contract/things/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 'many' }),
    });
    expect(res.status).toBe(400);
    expect(res.body.meta.errors).toEqual([expect.objectContaining({ field: 'n', location: 'body' })]);
  });
});
