/**
 * PostgreSQL through MikroORM: one ORM per process, a forked EntityManager per request, migrations
 * from migrations/ applied at start.
 *
 * - Pool acquisition and connection attempts time out quickly, so that an unreachable database turns
 *   into 503 SERVICE_UNAVAILABLE within seconds and the pool recovers by itself when it comes back.
 * - What knex has to say about lost connections goes to our log (warn), as JSON like every other line,
 *   instead of console.
 * - Opening says which database (host, port and name: never the URL, which carries the password) and
 *   how many migrations it applied. Failing to open, or to start the embedded PostgreSQL, is a
 *   DatabaseStartError: one line for the person starting the service.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MikroORM, PostgreSqlDriver, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from '../entities/index.js';
import { migrationsList } from '../migrations/index.js';
import type { Logger } from './logger.js';

export type Orm = MikroORM;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function ormOptions(clientUrl: string, log?: Logger): Options {
  return {
    driver: PostgreSqlDriver,
    clientUrl,
    entities,
    extensions: [Migrator],
    preferTs: true,
    discovery: { warnWhenNoEntities: false },
    migrations: {
      path: path.join(root, 'migrations'),
      pathTs: path.join(root, 'migrations'),
      glob: 'Migration*.{js,ts}',
      migrationsList,
      silent: true,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    pool: { min: 0, max: 10, acquireTimeoutMillis: 3000, idleTimeoutMillis: 30_000 },
    driverOptions: {
      connection: { connectionTimeoutMillis: 2000 },
      ...(log && {
        log: {
          warn: (message: unknown) => log.warn({ knex: String(message) }, 'database driver warning'),
          error: (message: unknown) => log.error({ knex: String(message) }, 'database driver error'),
          deprecate: (method: string, alternative: string) =>
            log.debug({ knex: `${method} is deprecated; use ${alternative}` }),
          debug: (message: unknown) => log.trace({ knex: message }),
        },
      }),
    },
    allowGlobalContext: false,
    debug: false,
  };
}

/**
 * The database could not be started or opened, said in one sentence with what to do; main.ts prints
 * that sentence alone, as one line, without a stack.
 */
export class DatabaseStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DatabaseStartError';
  }
}

/** Where a database URL points, without its user and password. */
function databaseLocation(clientUrl: string): { host: string; port: number; name: string } {
  const url = new URL(clientUrl);
  return { host: url.hostname, port: Number(url.port || 5432), name: decodeURIComponent(url.pathname.slice(1)) };
}

/** Connects, applies the pending migrations and logs both; a failure is a DatabaseStartError. */
export async function openDatabase(clientUrl: string, log?: Logger): Promise<Orm> {
  const database = databaseLocation(clientUrl);
  const where = `${database.host}:${database.port}/${database.name}`;
  let orm: Orm | undefined;
  try {
    orm = await MikroORM.init(ormOptions(clientUrl, log));
    const applied = await orm.getMigrator().up();
    const migrations = { applied: applied.length, total: migrationsList.length };
    log?.info(
      { database, migrations },
      `using database ${where}; migrations: ${migrations.applied} applied now, ${migrations.total} in all`,
    );
    return orm;
  } catch (error) {
    log?.debug({ err: error }, 'opening the database failed');
    await orm?.close(true).catch(() => {});
    throw new DatabaseStartError(`cannot open the database ${where}: ${reasonOf(error)}`, { cause: error });
  }
}

/** An error's message on one line; an AggregateError (one connection attempt per address) says each. */
function reasonOf(error: unknown): string {
  const messages =
    error instanceof AggregateError
      ? error.errors.map(reasonOf)
      : [error instanceof Error ? error.message : String(error)];
  return messages.join('; ').replace(/\s+/g, ' ').trim();
}

/** One round trip to prove the database answers; rejects after `timeoutMs`. */
export async function pingDatabase(orm: Orm, timeoutMs = 1500): Promise<void> {
  const query = orm.em.getConnection().execute('select 1');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('database ping timed out')), timeoutMs);
  });
  try {
    await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Raw queries get timestamps as MikroORM's driver leaves them (strings); this makes them Dates. */
export function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

export function toDateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : toDate(value);
}
