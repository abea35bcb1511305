/**
 * Everything the process keeps per credential, client or key stays within its bound however many
 * distinct keys arrive (issue 10, memory): the in-process credential cache, the in-memory rate-limit
 * counters (no Redis, and the insurance while Redis is down), the keys blocked in memory in front of
 * Redis, and the health check. Time is moved with fake timers, never waited for.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { BoundedMemoryStorage, createRateLimiter, MAX_MEMORY_KEYS } from '../../adapters/ratelimit/index.js';
import { createCredentialCache, createMemoryCache, MAX_MEMORY_ENTRIES } from '../../server/auth/credential-cache.js';
import { DEFAULT_BUDGETS, type Budget, type BudgetName } from '../../server/config.js';
import type { Orm } from '../../server/database.js';
import { createHealthCheck } from '../../server/health.js';
import { createLogger } from '../../server/logger.js';
import { redisUrl } from '../support/app.js';

const log = createLogger('silent');
const budgets = (overrides: Partial<Record<BudgetName, Budget>> = {}) =>
  ({ ...DEFAULT_BUDGETS, ...overrides }) as Record<BudgetName, Budget>;
const prefix = () => `test:bounds:${randomBytes(4).toString('hex')}`;

afterEach(() => {
  vi.useRealTimers();
});

describe('the in-process credential cache (no REDIS_URL)', () => {
  it('holds at most MAX_MEMORY_ENTRIES by default', async () => {
    const cache = createCredentialCache({ prefix: prefix(), ttlSeconds: 60, log });
    for (let i = 0; i < MAX_MEMORY_ENTRIES + 500; i++) await cache.set(`key:${i}`, i);
    expect(await cache.get('key:0')).toBeUndefined();
    expect(await cache.get('key:499')).toBeUndefined();
    expect(await cache.get('key:500')).toBe(500);
  });

  it('holds at most its bound of entries, keeping the newest', async () => {
    const cache = createMemoryCache(60, 100);
    for (let i = 0; i < 5000; i++) await cache.set(`session:${i}`, { user: { id: String(i) } });
    expect(cache.size()).toBe(100);
    expect(await cache.get('session:0')).toBeUndefined();
    expect(await cache.get('session:4899')).toBeUndefined();
    expect(await cache.get('session:4999')).toEqual({ user: { id: '4999' } });
  });

  it('is bounded as the services build it', async () => {
    const cache = createCredentialCache({ prefix: prefix(), ttlSeconds: 60, log, maxEntries: 50 });
    for (let i = 0; i < 1000; i++) await cache.set(`key:${i}`, i);
    expect(await cache.get('key:949')).toBeUndefined();
    expect(await cache.get('key:950')).toBe(950);
    expect(await cache.get('key:999')).toBe(999);
  });

  it('drops expired entries as new ones arrive, without a lookup of each', async () => {
    vi.useFakeTimers();
    const cache = createMemoryCache(60, 10_000);
    for (let i = 0; i < 500; i++) await cache.set(`old:${i}`, i);
    expect(cache.size()).toBe(500);
    vi.advanceTimersByTime(61_000);
    await cache.set('new', 1);
    expect(cache.size()).toBe(1);
  });

  it('keeps an entry set again, and counts it once', async () => {
    const cache = createMemoryCache(60, 3);
    await cache.set('a', 1);
    await cache.set('b', 2);
    await cache.set('a', 3);
    await cache.set('c', 4);
    expect(cache.size()).toBe(3);
    await cache.set('d', 5);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBe(3);
  });
});

describe('in-memory rate-limit counters', () => {
  it('count at most MAX_MEMORY_KEYS per budget by default', async () => {
    const limiter = createRateLimiter({ budgets: budgets(), prefix: prefix() });
    for (let i = 0; i < MAX_MEMORY_KEYS.global + 500; i++)
      await limiter.consume('global', `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    for (let i = 0; i < MAX_MEMORY_KEYS.other + 500; i++)
      await limiter.consume('failedSignInEmail', `user-${i}@example.com`);
    expect(limiter.inMemoryKeys('global').counted).toBe(MAX_MEMORY_KEYS.global);
    expect(limiter.inMemoryKeys('failedSignInEmail').counted).toBe(MAX_MEMORY_KEYS.other);
  });

  it('count at most their bound of keys per budget however many clients arrive', async () => {
    const limiter = createRateLimiter({ budgets: budgets(), prefix: prefix(), maxMemoryKeys: 200 });
    for (let i = 0; i < 5000; i++) {
      await limiter.consume('global', `198.51.${i >> 8}.${i & 255}`);
      await limiter.consume('failedSignInEmail', `user-${i}@example.com`);
    }
    expect(limiter.inMemoryKeys('global').counted).toBe(200);
    expect(limiter.inMemoryKeys('failedSignInEmail').counted).toBe(200);
  });

  it('still count, refuse and block the keys they hold', async () => {
    const limiter = createRateLimiter({
      budgets: budgets({ failedSignIn: { points: 3, duration: 900, blockDuration: 900 } }),
      prefix: prefix(),
      maxMemoryKeys: 100,
    });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await limiter.consume('failedSignIn', 'pair'));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0, 0]);
    // Blocked for blockDuration, refusals and all.
    expect(results[4]!.resetSeconds).toBeGreaterThan(890);
    await limiter.reset('failedSignIn', 'pair');
    expect((await limiter.consume('failedSignIn', 'pair')).allowed).toBe(true);
    await limiter.refund('failedSignIn', 'pair');
    expect((await limiter.consume('failedSignIn', 'pair')).remaining).toBe(2);
  });

  it('drop records whose window has ended as new keys arrive', async () => {
    vi.useFakeTimers();
    const limiter = createRateLimiter({ budgets: budgets({ signIn: { points: 5, duration: 60 } }), prefix: prefix() });
    for (let i = 0; i < 1000; i++) await limiter.consume('signIn', `203.0.113.${i % 250}-${i}`);
    expect(limiter.inMemoryKeys('signIn').counted).toBe(1000);
    vi.advanceTimersByTime(61_000);
    await limiter.consume('signIn', 'newcomer');
    expect(limiter.inMemoryKeys('signIn').counted).toBe(1);
  });

  it('start a window again once it has ended', () => {
    vi.useFakeTimers();
    const storage = new BoundedMemoryStorage(10);
    expect(storage.incrby('k', 1, 60).consumedPoints).toBe(1);
    expect(storage.incrby('k', 1, 60).consumedPoints).toBe(2);
    vi.advanceTimersByTime(60_000);
    expect(storage.get('k')).toBeNull();
    const fresh = storage.incrby('k', 1, 60);
    expect([fresh.consumedPoints, fresh.isFirstInDuration, fresh.msBeforeNext]).toEqual([1, true, 60_000]);
  });
});

describe.skipIf(!redisUrl())('rate limits through Redis', () => {
  const clients: Redis[] = [];
  afterAll(async () => {
    for (const client of clients) client.disconnect();
  });

  it('block at most their bound of keys in memory', async () => {
    const redis = new Redis(redisUrl()!, { enableOfflineQueue: false, lazyConnect: true });
    clients.push(redis);
    await redis.connect();
    const limiter = createRateLimiter({
      budgets: budgets({ signUp: { points: 1, duration: 60 } }),
      prefix: prefix(),
      redis,
      maxBlockedKeys: 100,
    });
    // Each key spends its one point, and is then blocked in memory so that refusing it costs no Redis call.
    for (let i = 0; i < 1000; i++) await limiter.consume('signUp', `key-${i}`);
    expect(limiter.inMemoryKeys('signUp').blocked).toBeLessThanOrEqual(100);
    expect(limiter.inMemoryKeys('signUp').blocked).toBeGreaterThan(0);
    // Evicted or not, a spent key is still refused: Redis holds its count.
    expect((await limiter.consume('signUp', 'key-0')).allowed).toBe(false);
    expect((await limiter.consume('signUp', 'key-999')).allowed).toBe(false);
    expect((await limiter.consume('signUp', 'key-1000')).allowed).toBe(true);
  });

  it('fall back to insurance counters that are bounded too while Redis is unreachable', async () => {
    // Never connected: the limiter sees Redis not ready and counts in memory.
    const redis = new Redis(redisUrl()!, { enableOfflineQueue: false, lazyConnect: true });
    clients.push(redis);
    const limiter = createRateLimiter({ budgets: budgets(), prefix: prefix(), redis, maxMemoryKeys: 100 });
    for (let i = 0; i < 2000; i++)
      expect((await limiter.consume('global', `192.0.2.${i & 255}:${i}`)).allowed).toBe(true);
    expect(limiter.inMemoryKeys('global').counted).toBe(100);
  });
});

describe('the health check', () => {
  /** An ORM whose ping waits until released, counting the pings. */
  function slowOrm() {
    let pings = 0;
    let release = () => {};
    const orm = {
      em: {
        getConnection: () => ({
          execute: () => {
            pings++;
            return new Promise<void>((resolve) => {
              release = resolve;
            });
          },
        }),
      },
    } as unknown as Orm;
    return { orm, pings: () => pings, release: () => release() };
  }

  it('runs one check at a time however many callers ask, also without a cache', async () => {
    const { orm, pings, release } = slowOrm();
    const health = createHealthCheck({ orm, cacheMs: 0 });
    const answers = Array.from({ length: 1000 }, () => health.check());
    expect(pings()).toBe(1);
    release();
    const reports = await Promise.all(answers);
    expect(new Set(reports).size).toBe(1);
    expect(reports[0]).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'disabled' } });

    // Once it has answered, the next caller (the cache being off) gets a fresh check.
    const next = health.check();
    expect(pings()).toBe(2);
    release();
    await next;
  });

  it('reuses a report for HEALTH_CACHE_MS', async () => {
    vi.useFakeTimers();
    const { orm, pings, release } = slowOrm();
    const health = createHealthCheck({ orm, cacheMs: 1000 });
    const first = health.check();
    release();
    await first;
    for (let i = 0; i < 100; i++) await health.check();
    expect(pings()).toBe(1);
    vi.advanceTimersByTime(1000);
    const again = health.check();
    expect(pings()).toBe(2);
    release();
    await again;
  });
});
