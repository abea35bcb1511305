/**
 * The rate-limit stores (rate-limiter-flexible).
 *
 * - With Redis: one RateLimiterRedis per budget, counters atomic in Redis and shared by every
 *   instance under RATE_LIMIT_PREFIX; each has an in-memory insurance limiter, so a request never
 *   fails because Redis is down; keys that spent their budget are blocked in memory so that
 *   refusing them costs no Redis call.
 * - Without Redis: RateLimiterMemory, for a single process.
 */
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { BUDGET_NAMES, type Budget, type BudgetName } from '../../server/config.js';
import type { RateLimiter, RateLimitResult } from '../../server/rate-limit.js';

interface Options {
  budgets: Record<BudgetName, Budget>;
  prefix: string;
  redis?: Redis;
}

export function createRateLimiter({ budgets, prefix, redis }: Options): RateLimiter {
  const limiters = new Map<BudgetName, RateLimiterAbstract>();
  for (const name of BUDGET_NAMES) {
    const budget = budgets[name];
    const base = { keyPrefix: `${prefix}:${name}`, points: budget.points, duration: budget.duration, blockDuration: budget.blockDuration ?? 0 };
    limiters.set(
      name,
      redis
        ? new RateLimiterRedis({
            ...base,
            storeClient: redis,
            rejectIfRedisNotReady: true,
            inMemoryBlockOnConsumed: budget.blockDuration ? 0 : budget.points,
            insuranceLimiter: new RateLimiterMemory(base),
          })
        : new RateLimiterMemory(base),
    );
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
  };
}
