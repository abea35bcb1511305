/**
 * The global per-IP budget is spent when a request's headers arrive, before its body is read: a
 * refused client gets 429 and a closed connection, never a parse of the megabytes it sent, on REST,
 * on tRPC and at the OAuth endpoints; every request spends exactly one global point, however it is served.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerFor, startTestApp, type TestApp } from '../support/app.js';
import { testRouter } from '../support/test-router.js';

const GLOBAL_POINTS = 3;
const TEN_MIB = 10 * 1024 * 1024;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    router: testRouter,
    env: { TRUST_PROXY: 'loopback', RATE_LIMIT_GLOBAL_POINTS: String(GLOBAL_POINTS) },
  });
});
afterAll(async () => {
  await t?.close();
});

let clients = 0;
/** A client address of its own for each test, so that their budgets do not meet. */
const nextClient = () => `198.51.100.${++clients}`;

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A POST over a socket of its own. With `partial`, only the first 64 KiB of the body (at most half
 * of it) are sent and the rest never is: an answer can then only come from a server that did not
 * wait for the body.
 */
function rawPost(path: string, headers: Record<string, string>, body: Buffer, partial: boolean): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer within 5 s: the server waited for the body'));
    }, 5000);
    const req = http.request(
      `${t.url}${path}`,
      { method: 'POST', agent: false, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        const done = () => {
          clearTimeout(timer);
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
        };
        res.once('end', done).once('close', done);
      },
    );
    // The server may close the connection while the body is still being written; the answer is what counts.
    req.on('error', () => undefined);
    if (partial) req.write(body.subarray(0, Math.min(64 * 1024, body.length / 2)));
    else req.end(body);
  });
}

/** A body of 10 MiB that is not JSON (an unterminated string), so that parsing it could only fail. */
const malformed = Buffer.concat([Buffer.from('{"name": "'), Buffer.alloc(TEN_MIB - 20, 'x')]);

async function exhaust(ip: string) {
  for (let i = 0; i < GLOBAL_POINTS; i++)
    expect((await t.request('/api/public/health', { headers: { 'x-forwarded-for': ip } })).status).toBe(200);
}

describe('a client whose global budget is spent', () => {
  it('is refused on REST before its body is read, and its connection closed', async () => {
    const ip = nextClient();
    await exhaust(ip);
    for (const partial of [true, false]) {
      const res = await rawPost(
        '/api/public/testing/echo',
        { 'content-type': 'application/json', 'x-forwarded-for': ip },
        malformed,
        partial,
      );
      expect(res.status, `partial body: ${partial}`).toBe(429);
      expect(JSON.parse(res.body)).toMatchObject({ success: false, status: 429, code: 'RATE_LIMIT_ERROR', data: null });
      expect(res.headers.connection).toBe('close');
      expect(res.headers['ratelimit-remaining']).toBe('0');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('is refused on tRPC before its body is read, and its connection closed', async () => {
    const ip = nextClient();
    await exhaust(ip);
    for (const partial of [true, false]) {
      const res = await rawPost(
        '/trpc/testing.echo',
        { 'content-type': 'application/json', 'x-forwarded-for': ip },
        malformed,
        partial,
      );
      expect(res.status, `partial body: ${partial}`).toBe(429);
      expect(JSON.parse(res.body).error.data).toMatchObject({ code: 'RATE_LIMIT_ERROR', httpStatus: 429 });
      expect(res.headers.connection).toBe('close');
      expect(res.headers['ratelimit-remaining']).toBe('0');
    }
  });

  it('is refused at the OAuth token endpoint before its body is read, and its connection closed', async () => {
    const ip = nextClient();
    await exhaust(ip);
    // Under the endpoint's 64 KiB limit, so that a server reading bodies first would wait for all of it.
    const form = Buffer.from(`grant_type=client_credentials&client_id=partner&padding=${'x'.repeat(60 * 1024)}`);
    for (const partial of [true, false]) {
      const res = await rawPost(
        '/api/auth/oauth2/token',
        { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
        form,
        partial,
      );
      expect(res.status, `partial body: ${partial}`).toBe(429);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'rate_limited' });
      expect(res.headers.connection).toBe('close');
      expect(res.headers['ratelimit-remaining']).toBe('0');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('gets 429 on tRPC whatever the media type of the body it was refused with', async () => {
    const ip = nextClient();
    await exhaust(ip);
    const res = await t.request('/trpc/testing.echo', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-forwarded-for': ip },
      body: 'hello',
    });
    expect(res.status).toBe(429);
    expect(res.body.error.data.code).toBe('RATE_LIMIT_ERROR');
  });
});

describe('a request within its budget', () => {
  const remaining = (res: { headers: Headers }) => Number(res.headers.get('ratelimit-remaining'));

  it.each([
    { transport: 'REST', echo: '/api/public/testing/echo', health: '/api/public/health', created: 201 },
    { transport: 'tRPC', echo: '/trpc/testing.echo', health: '/trpc/public.health', created: 200 },
  ])('spends exactly one global point on $transport', async ({ echo, health, created }) => {
    const headers = { 'content-type': 'application/json', 'x-forwarded-for': nextClient() };
    const first = await t.request(echo, { method: 'POST', headers, body: JSON.stringify({ name: 'Ada', count: 1 }) });
    const second = await t.request(health, { headers });
    expect([first.status, second.status]).toEqual([created, 200]);
    expect([remaining(first), remaining(second)]).toEqual([GLOBAL_POINTS - 1, GLOBAL_POINTS - 2]);
  });

  it('spends exactly one global point at the OAuth endpoints', async () => {
    const headers = { 'x-forwarded-for': nextClient() };
    const token = await t.request('/api/auth/oauth2/token', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=nobody&client_secret=wrong',
    });
    const discovery = await t.request('/.well-known/openid-configuration', { headers });
    expect([token.status, discovery.status]).toEqual([401, 200]);
    expect([remaining(token), remaining(discovery)]).toEqual([GLOBAL_POINTS - 1, GLOBAL_POINTS - 2]);
  });

  it('still reports the most restrictive budget that applied', async () => {
    // testing.limited also spends the signUp budget (3 a minute): after one call both have 2 left,
    // and the global one, spent on arrival, is the one shown once it is lower.
    const ip = nextClient();
    const headers = { 'content-type': 'application/json', 'x-forwarded-for': ip };
    await t.request('/api/public/health', { headers });
    const limited = await t.request('/api/public/testing/limited', { method: 'POST', headers, body: '{}' });
    expect(limited.status).toBe(200);
    expect(remaining(limited)).toBe(GLOBAL_POINTS - 2);
  });

  it('spends the global point in the guard on a direct call', async () => {
    const ip = nextClient();
    await callerFor(t.services, { ip }).public.health();
    const res = await t.request('/api/public/health', { headers: { 'x-forwarded-for': ip } });
    expect(remaining(res)).toBe(GLOBAL_POINTS - 2);
  });
});
