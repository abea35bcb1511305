/**
 * The rate-limit stores (rate-limiter-flexible).
 *
 * - With Redis: one RateLimiterRedis per budget, counters atomic in Redis and shared by every
 *   instance under RATE_LIMIT_PREFIX; each has an in-memory insurance limiter, so a request never
 *   fails because Redis is down; keys that spent their budget are blocked in memory so that
 *   refusing them costs no Redis call.
 * - Without Redis: RateLimiterMemory, for a single process.
 * - Whatever lives in the process is bounded, so that a flood of distinct keys (addresses, emails)
 *   cannot grow it without limit: the in-memory counters (no Redis, or the insurance while Redis is
 *   down) keep at most MAX_MEMORY_KEYS keys per budget, and the keys blocked in memory at most
 *   MAX_BLOCKED_KEYS per budget. Past the bound the oldest go first. A counter evicted that way starts
 *   again from zero, so an attacker could reset their own count only by spending, within one window,
 *   tens of thousands of requests that the same budgets meter; an evicted block merely costs a
 *   Redis call again, where the counter still refuses.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { BUDGET_NAMES, type Budget, type BudgetName } from '../../server/config.js';
import type { RateLimiter, RateLimitResult } from '../../server/rate-limit.js';

/**
 * Keys counted in memory per budget: the global budget (one key per client address) gets more room.
 * A key costs about 250 bytes (its string, its record and the Map's slot; the library's store took
 * about 450, a timer each included), so the global budget holds at most about 12 MiB and each other
 * one about 2.5 MiB: some 45 MiB if a flood of distinct clients filled all thirteen at once.
 */
export const MAX_MEMORY_KEYS: Readonly<Record<'global' | 'other', number>> = { global: 50_000, other: 10_000 };
/** Keys blocked in memory per budget (Redis only), about 210 bytes each: about 2 MiB per budget. */
export const MAX_BLOCKED_KEYS = 10_000;

interface Options {
  budgets: Record<BudgetName, Budget>;
  prefix: string;
  redis?: Redis;
  /** Override the bounds above (tests). */
  maxMemoryKeys?: number;
  maxBlockedKeys?: number;
}

interface CountedRecord {
  value: number;
  /** Epoch ms; null: never expires. */
  expiresAt: number | null;
}

/**
 * rate-limiter-flexible's MemoryStorage (lib/component/MemoryStorage, the store behind
 * RateLimiterMemory) with the same four operations and answers, but bounded: no timer per key (the
 * library's keeps one per key until its window ends), expired records are dropped as they are met
 * and from the front of the Map as new keys arrive, and at `maxKeys` the oldest record goes. A Map
 * keeps insertion order, and a record is (re)inserted when its window or block starts, so its front
 * holds the records that expire first.
 */
export class BoundedMemoryStorage {
  readonly #records = new Map<string, CountedRecord>();
  readonly #maxKeys: number;

  constructor(maxKeys: number) {
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#records.size;
  }

  #live(key: string, now: number): CountedRecord | undefined {
    const record = this.#records.get(key);
    if (record && record.expiresAt !== null && record.expiresAt <= now) {
      this.#records.delete(key);
      return undefined;
    }
    return record;
  }

  incrby(key: string, value: number, durationSec: number): RateLimiterRes {
    const now = Date.now();
    const record = this.#live(key, now);
    if (!record) return this.set(key, value, durationSec);
    record.value += value;
    return new RateLimiterRes(0, record.expiresAt === null ? -1 : record.expiresAt - now, record.value, false);
  }

  set(key: string, value: number, durationSec: number): RateLimiterRes {
    const now = Date.now();
    const durationMs = durationSec * 1000;
    this.#records.delete(key);
    for (const [oldest, record] of this.#records) {
      const expired = record.expiresAt !== null && record.expiresAt <= now;
      if (!expired && this.#records.size < this.#maxKeys) break;
      this.#records.delete(oldest);
    }
    this.#records.set(key, { value, expiresAt: durationMs > 0 ? now + durationMs : null });
    return new RateLimiterRes(0, durationMs === 0 ? -1 : durationMs, value, true);
  }

  get(key: string): RateLimiterRes | null {
    const now = Date.now();
    const record = this.#live(key, now);
    return record
      ? new RateLimiterRes(0, record.expiresAt === null ? -1 : record.expiresAt - now, record.value, false)
      : null;
  }

  delete(key: string): boolean {
    return this.#records.delete(key);
  }
}

type MemoryOptions = ConstructorParameters<typeof RateLimiterMemory>[0];

/** RateLimiterMemory on a BoundedMemoryStorage (it reaches its store only through the four operations; dump/restore are not supported). */
export class BoundedRateLimiterMemory extends RateLimiterMemory {
  readonly storage: BoundedMemoryStorage;

  constructor(options: MemoryOptions, maxKeys: number) {
    super(options);
    this.storage = new BoundedMemoryStorage(maxKeys);
    (this as unknown as { _memoryStorage: BoundedMemoryStorage })._memoryStorage = this.storage;
  }
}

/**
 * rate-limiter-flexible's BlockedKeys (lib/component/BlockedKeys, RateLimiterRedis's keys blocked in
 * memory), bounded: over `maxKeys` the expired go, then the oldest, down to nine tenths of the bound,
 * so that the sweep runs once per tenth of the bound at most (the library's sweeps every key on every
 * block once it holds a thousand, and keeps all that are still blocked).
 */
export class BoundedBlockedKeys {
  readonly #keys = new Map<string, number>();
  readonly #maxKeys: number;

  constructor(maxKeys: number) {
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#keys.size;
  }

  collectExpired(): void {
    const now = Date.now();
    for (const [key, until] of this.#keys) if (until <= now) this.#keys.delete(key);
  }

  add(key: string, sec: number): void {
    this.addMs(key, sec * 1000);
  }

  addMs(key: string, ms: number): void {
    this.#keys.delete(key);
    this.#keys.set(key, Date.now() + ms);
    if (this.#keys.size <= this.#maxKeys) return;
    this.collectExpired();
    const keep = Math.floor(this.#maxKeys * 0.9);
    for (const oldest of this.#keys.keys()) {
      if (this.#keys.size <= keep) break;
      this.#keys.delete(oldest);
    }
  }

  msBeforeExpire(key: string): number {
    const until = this.#keys.get(key);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left >= 0) return left;
    this.#keys.delete(key);
    return 0;
  }

  delete(key?: string): void {
    if (key) this.#keys.delete(key);
    else this.#keys.clear();
  }
}

/** What the process holds for one budget, for tests. */
export interface InMemoryKeys {
  counted: number;
  blocked: number;
}

export function createRateLimiter({
  budgets,
  prefix,
  redis,
  maxMemoryKeys,
  maxBlockedKeys,
}: Options): RateLimiter & { inMemoryKeys(name: BudgetName): InMemoryKeys } {
  const limiters = new Map<BudgetName, RateLimiterAbstract>();
  const memory = new Map<BudgetName, { counted: BoundedMemoryStorage; blocked?: BoundedBlockedKeys }>();
  for (const name of BUDGET_NAMES) {
    const budget = budgets[name];
    const base = {
      keyPrefix: `${prefix}:${name}`,
      points: budget.points,
      duration: budget.duration,
      blockDuration: budget.blockDuration ?? 0,
    };
    const inMemory = new BoundedRateLimiterMemory(
      base,
      maxMemoryKeys ?? (name === 'global' ? MAX_MEMORY_KEYS.global : MAX_MEMORY_KEYS.other),
    );
    if (!redis) {
      limiters.set(name, inMemory);
      memory.set(name, { counted: inMemory.storage });
      continue;
    }
    const shared = new RateLimiterRedis({
      ...base,
      storeClient: redis,
      rejectIfRedisNotReady: true,
      inMemoryBlockOnConsumed: budget.blockDuration ? 0 : budget.points,
      insuranceLimiter: inMemory,
    });
    const blocked = new BoundedBlockedKeys(maxBlockedKeys ?? MAX_BLOCKED_KEYS);
    (shared as unknown as { _inMemoryBlockedKeys: BoundedBlockedKeys })._inMemoryBlockedKeys = blocked;
    limiters.set(name, shared);
    memory.set(name, { counted: inMemory.storage, blocked });
  }

  const limiterFor = (name: BudgetName) => {
    const limiter = limiters.get(name);
    if (!limiter) throw new Error(`unknown rate-limit budget "${name}"`);
    return limiter;
  };

  const toResult = (name: BudgetName, res: RateLimiterRes, allowed: boolean): RateLimitResult => ({
    budget: name,
    allowed,
    limit: budgets[name].points,
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  });

  return {
    backend: redis ? 'redis' : 'memory',
    async consume(name, key, points = 1) {
      try {
        return toResult(name, await limiterFor(name).consume(key, points), true);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return toResult(name, rejection, false);
        throw rejection;
      }
    },
    async refund(name, key, points = 1) {
      await limiterFor(name).reward(key, points);
    },
    async reset(name, key) {
      await limiterFor(name).delete(key);
    },
    inMemoryKeys(name) {
      const held = memory.get(name);
      return { counted: held?.counted.size ?? 0, blocked: held?.blocked?.size ?? 0 };
    },
  };
}
