/**
 * A short cache of verified credentials and memberships, so that the credential and tenancy checks
 * of a request cost no database round trip (the lookups ride along with the rate-limit call to Redis).
 *
 * - Sessions and API keys are keyed by the SHA-256 of their secret, never the secret; memberships
 *   by organization and user. Entries live CREDENTIAL_CACHE_TTL seconds at most.
 * - Expiry and idleness are still checked on every request against the cached times.
 * - Every write that changes what an entry says deletes it through `forget`: revocations, sign-out,
 *   password change or reset, key update, rotation and deletion, email change or verification,
 *   account deletion, and every change of membership or of the organization.
 * - Redis shares the cache between instances; without REDIS_URL it lives in the process. If Redis
 *   fails, lookups fall through to PostgreSQL; nothing fails because of the cache.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export interface CredentialCache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  forget(keys: string[]): Promise<void>;
}

export const membershipCacheKey = (organizationId: string, userId: string) => `member:${organizationId}:${userId}`;

export function createCredentialCache(options: { redis?: Redis; prefix: string; ttlSeconds: number; log: Logger }): CredentialCache {
  const { redis, prefix, ttlSeconds, log } = options;
  if (ttlSeconds === 0) return { get: async () => undefined, set: async () => {}, forget: async () => {} };
  const redisKey = (key: string) => `${prefix}:cred:${key}`;

  if (!redis) {
    const entries = new Map<string, { value: string; until: number }>();
    return {
      async get<T>(key: string) {
        const entry = entries.get(key);
        if (!entry) return undefined;
        if (entry.until > Date.now()) return JSON.parse(entry.value) as T;
        entries.delete(key);
        return undefined;
      },
      async set(key, value) {
        // Bounded: a flood of distinct credentials must not grow the process without limit.
        if (entries.size >= 10_000) entries.delete(entries.keys().next().value!);
        entries.set(key, { value: JSON.stringify(value), until: Date.now() + ttlSeconds * 1000 });
      },
      async forget(keys) {
        for (const key of keys) entries.delete(key);
      },
    };
  }

  return {
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
        log.warn({ err: (error as Error).message }, 'could not drop cached credentials; they expire within the cache TTL');
      });
    },
  };
}
