import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientKey } from '../../server/rate-limit.js';
import { startTestApp, type TestApp } from '../support/app.js';

describe('client keys', () => {
  it('keys IPv4 by address and IPv6 by /64', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKey('2001:DB8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
  });

  it('drops the ports and brackets a proxy may write', () => {
    expect(clientKey('192.0.2.1:1234')).toBe('192.0.2.1');
    expect(clientKey('[2001:db8::1]:443')).toBe('2001:db8:0:0::/64');
    expect(clientKey('[2001:db8::1]')).toBe('2001:db8:0:0::/64');
    expect(clientKey('[::ffff:192.0.2.1]:80')).toBe('192.0.2.1');
  });
});

describe('the client address', () => {
  let trusting: TestApp;
  let direct: TestApp;
  beforeAll(async () => {
    const env = { RATE_LIMIT_GLOBAL_POINTS: '2' };
    [trusting, direct] = await Promise.all([
      startTestApp({ env: { ...env, TRUST_PROXY: 'loopback' } }),
      startTestApp({ env }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([trusting?.close(), direct?.close()]);
  });

  const from = (t: TestApp, forwardedFor: string) =>
    t.request('/api/public/health', { headers: { 'x-forwarded-for': forwardedFor } });

  it('comes from X-Forwarded-For only through TRUST_PROXY, and one /64 is one client', async () => {
    expect((await from(trusting, '2001:db8:1:2::1')).status).toBe(200);
    expect((await from(trusting, '2001:db8:1:2::abcd')).status).toBe(200);
    expect((await from(trusting, '2001:db8:1:2:ffff::9')).status).toBe(429);
    expect((await from(trusting, '2001:db8:1:3::1')).status).toBe(200);
    expect((await from(trusting, '198.51.100.1')).status).toBe(200);
  });

  it('keys a forwarded address without its port, so that one client is one budget', async () => {
    expect((await from(trusting, '192.0.2.1:1111')).status).toBe(200);
    expect((await from(trusting, '192.0.2.1:2222')).status).toBe(200);
    expect((await from(trusting, '192.0.2.1')).status).toBe(429);
    expect((await from(trusting, '[2001:db8:5:6::1]:443')).status).toBe(200);
    expect((await from(trusting, '[2001:db8:5:6::2]')).status).toBe(200);
    expect((await from(trusting, '2001:db8:5:6::3')).status).toBe(429);
  });

  it('keys a forwarded value that is no IP by the socket, not by what the client wrote', async () => {
    const answers = [];
    for (const value of ['not-an-ip-1', 'not-an-ip-2', 'garbage:80'])
      answers.push((await from(trusting, value)).status);
    expect(answers).toEqual([200, 200, 429]);
    // The socket's own budget (127.0.0.1) is the one those requests spent.
    expect((await trusting.request('/api/public/health')).status).toBe(429);
  });

  it('ignores X-Forwarded-For from an untrusted peer', async () => {
    expect((await from(direct, '198.51.100.1')).status).toBe(200);
    expect((await from(direct, '198.51.100.2')).status).toBe(200);
    expect((await from(direct, '198.51.100.3')).status).toBe(429);
  });

  it('uses in-memory counters when REDIS_URL is unset', async () => {
    const t = await startTestApp({ env: { REDIS_URL: '' } });
    try {
      expect(t.services.limiter.backend).toBe('memory');
      const res = await t.request('/api/public/health');
      expect(res.body.data).toMatchObject({ status: 'ok', checks: { database: 'ok', redis: 'disabled' } });
    } finally {
      await t.close();
    }
  });
});
