/**
 * The one request listener (server/http.ts): REST and tRPC on Node's own requests, Express for the
 * OpenID provider, the mail-link pages and unknown paths. Whichever serves a request, it gets the same
 * request id, the same security headers, one access line in the log, and the same client address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { captureLog, type CapturedLog } from '../support/logs.js';

let captured: CapturedLog;
let t: TestApp;
beforeAll(async () => {
  captured = captureLog('info');
  t = await startTestApp({ log: captured.log, env: { TRUST_PROXY: '1' } });
});
afterAll(async () => {
  await t?.close();
});

const accessLines = (requestId: string) =>
  captured.lines().filter((line) => line.reqId === requestId && line.msg === 'request finished');

const SERVED = [
  ['REST', '/api/public/health', 200],
  ['tRPC', '/trpc/public.health', 200],
  ['the OpenID provider (Express)', '/.well-known/openid-configuration', 200],
  ['an unknown path (Express)', '/no/such/page', 404],
  ['an unknown API path', '/api/no/such/route', 404],
] as const;

describe('every request, whoever answers it', () => {
  it.each(SERVED)('%s: echoes the request id, sets the security headers, logs one line', async (_by, path, status) => {
    const requestId = `listener-${Math.random().toString(36).slice(2)}`;
    const res = await fetch(`${t.url}${path}`, {
      headers: { 'x-request-id': requestId, 'x-forwarded-for': '198.51.100.23' },
    });
    await res.arrayBuffer();
    expect(res.status).toBe(status);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-powered-by')).toBeNull();
    await expect.poll(() => accessLines(requestId).length).toBe(1);
    // TRUST_PROXY=1: the address the proxy in front (here, the test) forwarded.
    expect(accessLines(requestId)[0]).toMatchObject({ method: 'GET', url: path, status, ip: '198.51.100.23' });
  });

  it('spends the global budget of the forwarded address on REST and tRPC alike', async () => {
    const client = { 'x-forwarded-for': '198.51.100.77' };
    const rest = await fetch(`${t.url}/api/public/health`, { headers: client });
    const trpc = await fetch(`${t.url}/trpc/public.health`, { headers: client });
    const remaining = (res: Response) => Number(res.headers.get('ratelimit-remaining'));
    expect(remaining(trpc)).toBe(remaining(rest) - 1);
    const other = await fetch(`${t.url}/api/public/health`, { headers: { 'x-forwarded-for': '198.51.100.78' } });
    expect(remaining(other)).toBe(remaining(rest));
  });
});
