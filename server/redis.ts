/**
 * The Redis client behind the shared rate-limit counters.
 *
 * - Never queues commands while disconnected (enableOfflineQueue: false) and times commands out,
 *   so a dead Redis makes the limiter fall back to its in-memory insurance at once instead of
 *   stalling requests.
 * - Pipelines by itself (enableAutoPipelining): the commands a request issues in one turn of the
 *   event loop (its budgets and its credential's cache entry) leave in one write and come back in one
 *   read, so that an authenticated GET costs one Redis round trip.
 * - Logs an outage once when it starts and once when it ends.
 */
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export function createRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 1000,
    retryStrategy: (attempt) => Math.min(attempt * 250, 2000),
    lazyConnect: true,
    enableAutoPipelining: true,
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log.warn({ err: error.message }, 'Redis is unreachable: rate limits fall back to in-memory counters');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.info('Redis is reachable again: rate limits are shared again');
  });
  return redis;
}

/** Connects, giving up after `timeoutMs` (the client keeps retrying in the background). */
export async function connectRedis(redis: Redis, log: Logger, timeoutMs = 3000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    log.warn(
      { err: (error as Error).message },
      'Redis is not reachable at start; using in-memory insurance limits until it is',
    );
  } finally {
    clearTimeout(timer);
  }
}

export async function pingRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') throw new Error(`redis is ${redis.status}`);
  await redis.ping();
}
