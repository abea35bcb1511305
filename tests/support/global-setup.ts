/**
 * Once per `npm test`: decide which PostgreSQL and Redis the files use. DATABASE_URL and REDIS_URL
 * when set (CI); otherwise an embedded PostgreSQL under the system's temporary folder and in-memory limits,
 * said out loud, with the Redis-only tests skipped.
 *
 * It also keeps the suite out of the developer's .data/ (their database, key and mail): the files
 * there are listed before the run and after it, and the run fails, naming them, if any was added,
 * changed or removed. Tests use temporary folders. Of .data/postgres only its presence counts: the
 * developer's own `npm start` may be writing there meanwhile.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

const DATA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.data');

/** What is under `.data/`, file by file with size and modification time; folders by presence. */
function listing(): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(DATA_DIR, relative), { withFileTypes: true })) {
      const name = path.join(relative, entry.name);
      if (entry.isDirectory()) {
        found.set(`.data/${name}/`, 'a folder');
        if (name !== 'postgres') walk(name);
      } else {
        const { size, mtime } = statSync(path.join(DATA_DIR, name));
        found.set(`.data/${name}`, `${size} bytes, modified ${mtime.toISOString()}`);
      }
    }
  };
  if (existsSync(DATA_DIR)) {
    found.set('.data/', 'a folder');
    walk('');
  }
  return found;
}

function differences(before: Map<string, string>, after: Map<string, string>): string[] {
  const added = [...after.keys()].filter((name) => !before.has(name)).map((name) => `added   ${name}`);
  const changed = [...after.keys()]
    .filter((name) => before.has(name) && before.get(name) !== after.get(name))
    .map((name) => `changed ${name}`);
  const removed = [...before.keys()].filter((name) => !after.has(name)).map((name) => `removed ${name}`);
  return [...added, ...changed, ...removed];
}

export default async function setup(project: TestProject) {
  const dataBefore = listing();
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
  if (!process.env.REDIS_URL)
    console.log('[tests] REDIS_URL is unset: in-memory limits; the Redis-backed tests are skipped');
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', process.env.REDIS_URL ?? '');
  return async () => {
    await stop?.();
    const touched = differences(dataBefore, listing());
    if (touched.length === 0) return;
    // Vitest only logs an error thrown here; the exit code is what fails the run.
    process.exitCode = 1;
    throw new Error(
      `The tests wrote into the developer's ${DATA_DIR}; they must use temporary folders:\n  ${touched.join('\n  ')}\n` +
        'If your own server wrote these during the run (npm start without SMTP_URL), stop it and run the tests again.',
    );
  };
}
