/**
 * Dependency checks behind GET /api/public/health, cached for HEALTH_CACHE_MS so that a load
 * balancer polling it (or a benchmark) measures the stack rather than the database.
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
  let cached: { at: number; report: Promise<HealthReport> } | undefined;

  async function run(): Promise<HealthReport> {
    const [database, redis] = await Promise.all([
      pingDatabase(deps.orm).then((): CheckState => 'ok', (): CheckState => 'down'),
      deps.redis ? pingRedis(deps.redis).then((): CheckState => 'ok', (): CheckState => 'down') : Promise.resolve<CheckState>('disabled'),
    ]);
    const status = database === 'down' ? 'down' : redis === 'down' ? 'degraded' : 'ok';
    return { status, checks: { database, redis } };
  }

  return {
    check() {
      const now = Date.now();
      if (!cached || now - cached.at >= deps.cacheMs) cached = { at: now, report: run() };
      return cached.report;
    },
  };
}
