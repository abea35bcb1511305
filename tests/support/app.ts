/**
 * Test fixtures for a running service: each call gets a database of its own (so files run in
 * parallel), a rate-limit prefix of its own, a mail folder of its own outside the project (tests
 * write nothing into .data/), and the real Express app on an ephemeral port.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AnyRouter } from '@trpc/server';
import { inject } from 'vitest';
import { createApp, type App } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import type { Logger } from '../../server/logger.js';
import { createContextInner, type ContextInput, type Services } from '../../server/context.js';
import { serve } from '../../server/lifecycle.js';
import { createCallerFactory } from '../../server/trpc.js';
import { appRouter } from '../../procedures/index.js';
import { createScratchDatabase, type ScratchDatabase } from './databases.js';

export const TEST_ENCRYPTION_KEY = randomBytes(32).toString('hex');

export const databaseUrl = () => inject('databaseUrl');
export const redisUrl = () => inject('redisUrl') || undefined;

/** A new, empty database on the test cluster; `drop` removes it. */
export function createTestDatabase(): Promise<ScratchDatabase> {
  return createScratchDatabase(databaseUrl(), 't');
}

export interface TestApp {
  app: App;
  services: Services;
  url: string;
  /** fetch against the app, returning the parsed body too. */
  request(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string | undefined>;
  router?: AnyRouter;
  /** Use this database URL instead of a new database (it is then not dropped). */
  databaseUrl?: string;
  now?: () => Date;
  /** Listen on this port (default: any free one). */
  port?: number;
  /** The service's logger (default: a silent one, or TEST_LOG_LEVEL's). */
  log?: Logger;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.databaseUrl ? undefined : await createTestDatabase();
  const mailDir = mkdtempSync(path.join(tmpdir(), 'tenant-api-mail-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: options.databaseUrl ?? database?.url,
    REDIS_URL: redisUrl(),
    RATE_LIMIT_PREFIX: `test:${randomBytes(6).toString('hex')}`,
    HEALTH_CACHE_MS: '0',
    // A fixed key for the process, so that apps sharing a database read each other's signing keys.
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    MAIL_DIR: mailDir,
    ...options.env,
  });
  const app = await createApp(config, { router: options.router, now: options.now, log: options.log });
  const serving = await serve(app, { port: options.port ?? 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${serving.port}`;
  return {
    app,
    services: app.services,
    url,
    async request(path, init) {
      const response = await fetch(`${url}${path}`, init);
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: the raw text is the body
      }
      return { status: response.status, headers: response.headers, body };
    },
    async close() {
      await serving.shutdown();
      await database?.drop();
      rmSync(mailDir, { recursive: true, force: true });
    },
  };
}

const createCaller = createCallerFactory(appRouter);

/** The procedures called directly, as backend jobs do. */
export function callerFor(services: Services, input: Omit<ContextInput, 'services'> = {}) {
  return createCaller(createContextInner({ services, ...input }));
}
