import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisUrl, startTestApp, type TestApp } from '../support/app.js';
import { startTcpProxy, type TcpProxy } from '../support/net.js';
import { testRouter } from '../support/test-router.js';

const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' } as const;
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

describe.skipIf(!redisUrl())('rate limits through Redis', () => {
  it('keeps one budget for two instances sharing Redis', async () => {
    const database = await createTestDatabase();
    cleanup.push(database.drop);
    const env = { RATE_LIMIT_PREFIX: `shared:${randomBytes(4).toString('hex')}` };
    const a = await startTestApp({ router: testRouter, env, databaseUrl: database.url });
    const b = await startTestApp({ router: testRouter, env, databaseUrl: database.url });
    cleanup.push(a.close, b.close);

    // signUp: 3 per 60 s per IP, counted across both instances.
    const statuses = [];
    for (const app of [a, b, a, b]) statuses.push((await app.request('/api/public/testing/limited', post)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await a.request('/api/public/testing/limited', post);
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('RATE_LIMIT_ERROR');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    // The counters live in Redis under the configured prefix.
    const redis = new Redis(redisUrl()!);
    cleanup.push(() => redis.quit());
    const keys = await redis.keys(`${env.RATE_LIMIT_PREFIX}:*`);
    expect(keys.sort()).toEqual([
      `${env.RATE_LIMIT_PREFIX}:global:127.0.0.1`,
      `${env.RATE_LIMIT_PREFIX}:signUp:127.0.0.1`,
    ]);
    expect(Number(await redis.get(`${env.RATE_LIMIT_PREFIX}:global:127.0.0.1`))).toBe(5);
  });

  it('shares the global budget too and reports the most restrictive one', async () => {
    const database = await createTestDatabase();
    cleanup.push(database.drop);
    const env = { RATE_LIMIT_PREFIX: `shared:${randomBytes(4).toString('hex')}`, RATE_LIMIT_GLOBAL_POINTS: '4' };
    const a = await startTestApp({ env, databaseUrl: database.url });
    const b = await startTestApp({ env, databaseUrl: database.url });
    cleanup.push(a.close, b.close);
    const answers = [];
    for (const app of [a, b, a, b, a]) answers.push(await app.request('/api/public/health'));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 429]);
    expect(answers.map((r) => r.headers.get('ratelimit-remaining'))).toEqual(['3', '2', '1', '0', '0']);
    expect(answers[4]!.headers.get('ratelimit-limit')).toBe('4');
  });

  describe('when Redis goes away', () => {
    let proxy: TcpProxy;
    let t: TestApp;

    it('keeps answering under the in-memory insurance limiter and reports degraded health', async () => {
      const target = new URL(redisUrl()!);
      proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
      const viaProxy = new URL(target);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      t = await startTestApp({ router: testRouter, env: { REDIS_URL: viaProxy.toString() } });
      cleanup.push(t.close, proxy.close);

      const before = await t.request('/api/public/health');
      expect(before.status).toBe(200);
      expect(before.body.data).toMatchObject({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });

      await proxy.cut();
      const during = [];
      for (let i = 0; i < 20; i++) during.push(await t.request('/api/public/health'));
      expect(during.every((r) => r.status === 200)).toBe(true);
      expect(during.at(-1)!.body.data).toMatchObject({ status: 'degraded', checks: { database: 'ok', redis: 'down' } });
      expect(during.at(-1)!.headers.get('ratelimit-limit')).toBe('500');

      // The insurance limiter still enforces budgets: signUp allows 3 a minute.
      const limited = [];
      for (let i = 0; i < 4; i++) limited.push((await t.request('/api/public/testing/limited', post)).status);
      expect(limited).toEqual([200, 200, 200, 429]);
    });

    it('goes back to Redis when it returns, without a restart', async () => {
      await proxy.restore();
      await expect
        .poll(async () => (await t.request('/api/public/health')).body.data?.checks.redis, {
          timeout: 10_000,
          interval: 200,
        })
        .toBe('ok');
      const after = await t.request('/api/public/health');
      expect(after.body.data.status).toBe('ok');
    });
  });
});
