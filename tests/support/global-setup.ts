/**
 * Once per `npm test`: decide which PostgreSQL and Redis the files use. DATABASE_URL and REDIS_URL
 * when set (CI); otherwise an embedded PostgreSQL under the system's temporary folder and in-memory limits,
 * said out loud, with the Redis-only tests skipped.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../server/embedded-postgres.js';
import { createLogger } from '../../server/logger.js';
import { freePort } from './net.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  let databaseUrl = process.env.DATABASE_URL;
  let stop: (() => Promise<void>) | undefined;
  if (!databaseUrl) {
    const log = createLogger('info');
    // Outside the project, so that tests write nothing into .data/; kept between runs to skip initdb.
    const dir = path.join(tmpdir(), 'tenant-api-test-postgres');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const embedded = await startEmbeddedPostgres({ dir, port: await freePort(), log, database: 'test' });
    databaseUrl = embedded.url;
    stop = embedded.stop;
    console.log(`[tests] DATABASE_URL is unset: using embedded PostgreSQL under ${dir}`);
  }
  if (!process.env.REDIS_URL) console.log('[tests] REDIS_URL is unset: in-memory limits; the Redis-backed tests are skipped');
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', process.env.REDIS_URL ?? '');
  return async () => {
    await stop?.();
  };
}
