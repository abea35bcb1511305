/**
 * A short cache of verified credentials and memberships, so that the credential and tenancy checks
 * of a request cost no database round trip (the lookups ride along with the rate-limit call to Redis).
 *
 * - Sessions and API keys are keyed by the SHA-256 of their secret, never the secret; memberships
 *   by organization and user. Entries live CREDENTIAL_CACHE_TTL seconds at most.
 * - Expiry and idleness are still checked on every request against the cached times.
 * - A miss is loaded once per process however many requests miss the same key at once (`getOrLoad`):
 *   when an entry expires under load, one query refills it instead of one per waiting request, and
 *   they all share what it found (so the "last used" write of an API key happens once, too).
 * - Every write that changes what an entry says deletes it through `forget`: revocations, sign-out,
 *   password change or reset, key update, rotation and deletion, email change or verification,
 *   account deletion, and every change of membership or of the organization.
 * - Redis shares the cache between instances; without REDIS_URL it lives in the process, bounded at
 *   MAX_MEMORY_ENTRIES entries (the oldest go first) and swept of expired entries as new ones arrive.
 *   If Redis fails, lookups fall through to PostgreSQL; nothing fails because of the cache.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export interface CredentialCache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  forget(keys: string[]): Promise<void>;
  /**
   * The cached value, else what `load` finds (cached when it finds something). Concurrent misses of one
   * key share one load and its result.
   */
  getOrLoad<T>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined>;
}

type Store = Omit<CredentialCache, 'getOrLoad'>;

/** A store with `getOrLoad` added on top of its get and set. */
function withSharedLoads<S extends Store>(store: S): S & CredentialCache {
  const loading = new Map<string, Promise<unknown>>();
  const getOrLoad = async <T>(key: string, load: () => Promise<T | undefined>) => {
    const cached = await store.get<T>(key);
    if (cached !== undefined) return cached;
    let pending = loading.get(key) as Promise<T | undefined> | undefined;
    if (!pending) {
      pending = (async () => {
        const value = await load();
        if (value !== undefined) await store.set(key, value);
        return value;
      })().finally(() => loading.delete(key));
      loading.set(key, pending);
    }
    return pending;
  };
  return Object.assign(store, { getOrLoad });
}

export const membershipCacheKey = (organizationId: string, userId: string) => `member:${organizationId}:${userId}`;

/**
 * The most entries the in-process cache (no REDIS_URL) holds: a flood of distinct credentials evicts
 * the oldest instead of growing the process. A cached session costs about 620 bytes (key, JSON value
 * and the Map's slot), so the cache holds at most about 6 MiB.
 */
export const MAX_MEMORY_ENTRIES = 10_000;

export function createCredentialCache(options: {
  redis?: Redis;
  prefix: string;
  ttlSeconds: number;
  log: Logger;
  maxEntries?: number;
}): CredentialCache {
  const { redis, prefix, ttlSeconds, log } = options;
  if (ttlSeconds === 0)
    return withSharedLoads({ get: async () => undefined, set: async () => {}, forget: async () => {} });
  const redisKey = (key: string) => `${prefix}:cred:${key}`;

  if (!redis) return createMemoryCache(ttlSeconds, options.maxEntries ?? MAX_MEMORY_ENTRIES);

  return withSharedLoads({
    async get<T>(key: string) {
      if (redis.status !== 'ready') return undefined;
      try {
        const raw = await redis.get(redisKey(key));
        return raw ? (JSON.parse(raw) as T) : undefined;
      } catch {
        return undefined;
      }
    },
    async set(key, value) {
      if (redis.status !== 'ready') return;
      await redis.set(redisKey(key), JSON.stringify(value), 'EX', ttlSeconds).catch(() => undefined);
    },
    async forget(keys) {
      if (keys.length === 0) return;
      await redis.del(...keys.map(redisKey)).catch((error: unknown) => {
        log.warn(
          { err: (error as Error).message },
          'could not drop cached credentials; they expire within the cache TTL',
        );
      });
    },
  });
}

/**
 * The in-process cache: a Map kept in order of expiry (every entry lives the same TTL, and a key set
 * again moves to the end), so that expired entries are dropped from its front as new ones arrive
 * instead of waiting for a lookup, and the entry evicted at the bound is the one closest to expiring.
 * Bounded by `maxEntries` and by the TTL, whichever is reached first; `size` is for tests.
 */
export function createMemoryCache(ttlSeconds: number, maxEntries: number): CredentialCache & { size(): number } {
  const entries = new Map<string, { value: string; until: number }>();
  const sweep = (now: number) => {
    for (const [key, entry] of entries) {
      if (entry.until > now && entries.size < maxEntries) break;
      entries.delete(key);
    }
  };
  return withSharedLoads({
    async get<T>(key: string) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.until > Date.now()) return JSON.parse(entry.value) as T;
      entries.delete(key);
      return undefined;
    },
    async set(key, value) {
      const now = Date.now();
      entries.delete(key);
      sweep(now);
      entries.set(key, { value: JSON.stringify(value), until: now + ttlSeconds * 1000 });
    },
    async forget(keys) {
      for (const key of keys) entries.delete(key);
    },
    size: () => entries.size,
  });
}
