/**
 * Dependency checks behind GET /api/public/health, cached for HEALTH_CACHE_MS so that a load
 * balancer polling it (or a benchmark) measures the stack rather than the database.
 *
 * - One check at most is in flight: callers that arrive while it runs share it, also with
 *   HEALTH_CACHE_MS=0. Otherwise, while the database hangs (a ping takes up to its 1.5 s timeout,
 *   longer than the cache lives), every poll would start a check of its own, each holding a timer and
 *   a place in the pool's queue.
 * - What is kept is one report and one check: the cache cannot grow.
 */
import type { Redis } from 'ioredis';
import { pingDatabase, type Orm } from './database.js';
import { pingRedis } from './redis.js';

export type CheckState = 'ok' | 'down' | 'disabled';
export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  checks: { database: CheckState; redis: CheckState };
}

export interface HealthCheck {
  check(): Promise<HealthReport>;
}

export function createHealthCheck(deps: { orm: Orm; redis?: Redis; cacheMs: number }): HealthCheck {
  let last: { at: number; report: HealthReport } | undefined;
  let running: Promise<HealthReport> | undefined;

  async function run(): Promise<HealthReport> {
    const [database, redis] = await Promise.all([
      pingDatabase(deps.orm).then(
        (): CheckState => 'ok',
        (): CheckState => 'down',
      ),
      deps.redis
        ? pingRedis(deps.redis).then(
            (): CheckState => 'ok',
            (): CheckState => 'down',
          )
        : Promise.resolve<CheckState>('disabled'),
    ]);
    const status = database === 'down' ? 'down' : redis === 'down' ? 'degraded' : 'ok';
    return { status, checks: { database, redis } };
  }

  return {
    check() {
      const now = Date.now();
      if (last && now - last.at < deps.cacheMs) return Promise.resolve(last.report);
      // The report is as old as the check's start: a slow check (a ping waiting out its timeout) is
      // not reused after it answers, the next caller checks again.
      running ??= run()
        .then((report) => {
          last = { at: now, report };
          return report;
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
  };
}
