/**
 * A short cache of validated sessions, so that the session path of a request costs no database
 * round trip (the lookup rides along with the rate-limit call to Redis).
 *
 * - Keyed by the token's SHA-256, never the token; entries live SESSION_CACHE_TTL seconds at most.
 * - Expiry and idleness are still checked on every request against the cached times.
 * - Every revocation, sign-out, password change or reset, and every change to the user that the
 *   session carries (email, verification, deactivation) deletes the user's entries through `forget`.
 * - Redis shares the cache between instances; without REDIS_URL it lives in the process. If Redis
 *   fails, the lookup falls through to PostgreSQL; nothing fails because of the cache.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export interface CachedSession {
  session: { id: string; userId: string; createdAt: number; lastSeenAt: number; expiresAt: number };
  user: { id: string; email: string; isActive: boolean; verifiedAt: number | null };
}

export interface SessionCache {
  get(tokenHash: string): Promise<CachedSession | undefined>;
  set(tokenHash: string, value: CachedSession): Promise<void>;
  forget(tokenHashes: string[]): Promise<void>;
}

export function createSessionCache(options: { redis?: Redis; prefix: string; ttlSeconds: number; log: Logger }): SessionCache {
  const { redis, prefix, ttlSeconds, log } = options;
  if (ttlSeconds === 0) return { get: async () => undefined, set: async () => {}, forget: async () => {} };
  const key = (hash: string) => `${prefix}:session:${hash}`;

  if (!redis) {
    const entries = new Map<string, { value: CachedSession; until: number }>();
    return {
      async get(hash) {
        const entry = entries.get(hash);
        if (!entry) return undefined;
        if (entry.until > Date.now()) return entry.value;
        entries.delete(hash);
        return undefined;
      },
      async set(hash, value) {
        // Bounded: a flood of distinct sessions must not grow the process without limit.
        if (entries.size >= 10_000) entries.delete(entries.keys().next().value!);
        entries.set(hash, { value, until: Date.now() + ttlSeconds * 1000 });
      },
      async forget(hashes) {
        for (const hash of hashes) entries.delete(hash);
      },
    };
  }

  return {
    async get(hash) {
      if (redis.status !== 'ready') return undefined;
      try {
        const raw = await redis.get(key(hash));
        return raw ? (JSON.parse(raw) as CachedSession) : undefined;
      } catch {
        return undefined;
      }
    },
    async set(hash, value) {
      if (redis.status !== 'ready') return;
      await redis.set(key(hash), JSON.stringify(value), 'EX', ttlSeconds).catch(() => undefined);
    },
    async forget(hashes) {
      if (hashes.length === 0) return;
      await redis.del(...hashes.map(key)).catch((error: unknown) => {
        log.warn({ err: (error as Error).message }, 'could not drop cached sessions; they expire within the cache TTL');
      });
    },
  };
}
