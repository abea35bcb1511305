/**
 * The credential cache under a burst of misses: when an entry is missing or has expired, the requests
 * waiting on it share one load (one query), in Redis and in the in-process cache alike.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createCredentialCache, type CredentialCache } from '../../server/auth/credential-cache.js';
import { createLogger } from '../../server/logger.js';
import { redisUrl } from '../support/app.js';

const log = createLogger('silent');
const prefix = () => `test:credcache:${randomBytes(4).toString('hex')}`;
const redis = redisUrl() ? new Redis(redisUrl()!) : undefined;
afterAll(async () => {
  await redis?.quit();
});

const caches: Array<[string, () => CredentialCache]> = [
  ['in-process', () => createCredentialCache({ prefix: prefix(), ttlSeconds: 60, log })],
  ...(redis
    ? [
        ['Redis', () => createCredentialCache({ redis, prefix: prefix(), ttlSeconds: 60, log })] as [
          string,
          () => CredentialCache,
        ],
      ]
    : []),
];

describe.each(caches)('the %s credential cache', (_name, create) => {
  it('loads a key once for fifty concurrent misses, hands them all the result, and keeps it', async () => {
    const cache = create();
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { userId: 'u1', scopes: ['user:read'] };
    };
    const found = await Promise.all(Array.from({ length: 50 }, () => cache.getOrLoad('session:a', load)));
    expect(loads).toBe(1);
    expect(found.every((value) => value?.userId === 'u1')).toBe(true);
    expect(await cache.get('session:a')).toEqual({ userId: 'u1', scopes: ['user:read'] });
    await cache.getOrLoad('session:a', load);
    expect(loads).toBe(1);
  });

  it('caches no absence, and loads again after a failed load', async () => {
    const cache = create();
    let loads = 0;
    const nothing = async () => {
      loads++;
      return undefined;
    };
    expect(await cache.getOrLoad('member:x', nothing)).toBeUndefined();
    expect(await cache.getOrLoad('member:x', nothing)).toBeUndefined();
    expect(loads).toBe(2);
    await expect(cache.getOrLoad('member:y', async () => Promise.reject(new Error('database down')))).rejects.toThrow(
      'database down',
    );
    expect(await cache.getOrLoad('member:y', async () => 'back')).toBe('back');
  });

  it('loads again once the entry is forgotten', async () => {
    const cache = create();
    await cache.getOrLoad('key:k', async () => 'old');
    await cache.forget(['key:k']);
    expect(await cache.getOrLoad('key:k', async () => 'new')).toBe('new');
  });
});
