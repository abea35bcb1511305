import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { SECRET_DETAIL, testRouter } from '../support/test-router.js';

const ENVELOPE_KEYS = ['code', 'data', 'message', 'meta', 'status', 'success'];

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ router: testRouter });
});
afterAll(async () => {
  await t?.close();
});

function expectEnvelope(res: { status: number; headers: Headers; body: any }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(Object.keys(res.body).sort()).toEqual(ENVELOPE_KEYS);
  expect(res.body.status).toBe(status);
  expect(res.body.success).toBe(status < 400);
  expect(res.body.code).toBe(code);
  expect(typeof res.body.message).toBe('string');
  expect(res.body.message.length).toBeGreaterThan(0);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('x-request-id')).toBeTruthy();
  expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  expect(res.headers.get('ratelimit-limit')).toMatch(/^\d+$/);
  expect(res.headers.get('ratelimit-remaining')).toMatch(/^\d+$/);
  expect(res.headers.get('ratelimit-reset')).toMatch(/^\d+$/);
  if (status >= 400) {
    expect(res.body.data).toBeNull();
    expect(res.body.meta.requestId).toBe(res.headers.get('x-request-id'));
  }
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('the REST envelope', () => {
  it('wraps a success with the procedure message and its status', async () => {
    const res = await t.request('/api/public/testing/echo', json({ name: 'Ada', count: 2 }));
    expectEnvelope(res, 201, 'OK');
    expect(res.body).toMatchObject({
      message: 'Echo created successfully',
      data: { name: 'Ada', website: null, count: 2 },
      meta: {},
    });
  });

  it('accepts a JSON content type with a charset', async () => {
    const res = await t.request(
      '/api/public/testing/echo',
      json({ name: 'Ada', count: 2 }, { 'content-type': 'application/json; charset=utf-8' }),
    );
    expectEnvelope(res, 201, 'OK');
  });

  it('puts a list in data and its pagination in meta', async () => {
    const res = await t.request('/api/public/testing/items?offset=1&limit=2');
    expectEnvelope(res, 200, 'OK');
    expect(res.body.data).toEqual([{ n: 1 }, { n: 2 }]);
    expect(res.body.meta).toEqual({ total: 5, offset: 1, limit: 2, hasMore: true });
    expect(res.body.message).toBe('Items fetched successfully');
  });

  it('names every bad field with its location', async () => {
    const res = await t.request(
      '/api/public/testing/echo',
      json({ name: '', website: 'not a url', count: 1.5, extra: true }),
    );
    expectEnvelope(res, 400, 'VALIDATION_ERROR');
    const fields = res.body.meta.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(['count', 'extra', 'name', 'website']);
    for (const error of res.body.meta.errors) {
      expect(error.location).toBe('body');
      expect(typeof error.error).toBe('string');
    }
  });

  it('reports query and path parameters as such', async () => {
    const query = await t.request('/api/public/testing/items?limit=500');
    expectEnvelope(query, 400, 'VALIDATION_ERROR');
    expect(query.body.meta.errors).toEqual([expect.objectContaining({ field: 'limit', location: 'query' })]);

    const params = await t.request('/api/public/testing/items/not-a-ulid');
    expectEnvelope(params, 400, 'VALIDATION_ERROR');
    expect(params.body.meta.errors).toEqual([{ field: 'itemId', error: 'Must be a ULID', location: 'params' }]);
  });

  it('answers malformed JSON with BAD_REQUEST', async () => {
    const res = await t.request('/api/public/testing/echo', json('{"name": "Ada",'));
    expectEnvelope(res, 400, 'BAD_REQUEST');
  });

  it('answers a non-JSON body with UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await t.request('/api/public/testing/echo', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'name=Ada',
    });
    expectEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const form = await t.request('/api/public/testing/echo', {
      method: 'POST',
      body: new URLSearchParams({ name: 'Ada' }),
    });
    expectEnvelope(form, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a body over 10 MiB with PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(10 * 1024 * 1024), count: 1 });
    const res = await t.request('/api/public/testing/echo', json(big));
    expectEnvelope(res, 400, 'PAYLOAD_TOO_LARGE');
  });

  it('reads a write without a body as an empty object', async () => {
    const res = await t.request('/api/public/testing/echo', { method: 'POST' });
    expectEnvelope(res, 400, 'VALIDATION_ERROR');
  });

  it('answers an unknown route with NOT_FOUND', async () => {
    const res = await t.request('/api/public/nothing-here');
    expectEnvelope(res, 404, 'NOT_FOUND');
    const outside = await t.request('/elsewhere');
    expect(outside.status).toBe(404);
    expect(outside.body.code).toBe('NOT_FOUND');
  });

  it('answers a wrong method with METHOD_NOT_ALLOWED and Allow', async () => {
    const res = await t.request('/api/public/health', { method: 'DELETE' });
    expectEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('hides a thrown bug behind INTERNAL_ERROR with no detail', async () => {
    const res = await t.request('/api/public/testing/boom');
    expectEnvelope(res, 500, 'INTERNAL_ERROR');
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(SECRET_DETAIL);
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    expect(res.body.meta).toEqual({ requestId: res.headers.get('x-request-id') });
  });

  it('asks for a credential on user routes, without caching', async () => {
    const res = await t.request('/api/user/testing/account');
    expectEnvelope(res, 401, 'AUTHENTICATION_REQUIRED');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const publicRoute = await t.request('/api/public/health');
    expect(publicRoute.headers.get('cache-control')).toBeNull();
  });

  it('echoes a safe X-Request-Id and replaces an unsafe one', async () => {
    const echoed = await t.request('/api/public/testing/boom', { headers: { 'x-request-id': 'client-req.42' } });
    expect(echoed.headers.get('x-request-id')).toBe('client-req.42');
    expect(echoed.body.meta.requestId).toBe('client-req.42');
    const replaced = await t.request('/api/public/health', { headers: { 'x-request-id': 'bad id <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const tooLong = await t.request('/api/public/health', { headers: { 'x-request-id': 'a'.repeat(129) } });
    expect(tooLong.headers.get('x-request-id')).not.toBe('a'.repeat(129));
  });

  it('answers HEAD like GET without a body', async () => {
    const res = await fetch(`${t.url}/api/public/health`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('answers 429 with Retry-After once a budget is spent', async () => {
    // The signUp budget is 3 per 60 s per IP.
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await t.request('/api/public/testing/limited', json({})));
    expect(answers.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(answers[0]!.headers.get('ratelimit-limit')).toBe('3');
    expect(answers.slice(0, 3).map((r) => r.headers.get('ratelimit-remaining'))).toEqual(['2', '1', '0']);
    const refused = answers[3]!;
    expectEnvelope(refused, 429, 'RATE_LIMIT_ERROR');
    expect(refused.body.message).toBe('Too many requests from this IP, please try again later.');
    expect(refused.body.meta.message).toBe(refused.body.message);
    expect(refused.body.meta.retryAfter).toBeGreaterThan(0);
    expect(refused.body.meta.retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('retry-after')).toBe(String(refused.body.meta.retryAfter));
  });
});
