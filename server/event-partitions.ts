/**
 * The monthly partitions of `events` (migrations/Migration20261204090000.ts), created ahead by the
 * service: at start (after the migrations) and then daily.
 *
 * - Each partition holds one UTC month of `occurred_at` and is named `events_yYYYYmMM`.
 * - At every run the months from that of (now − 90 days), the oldest timestamp ingest accepts, to
 *   that of (now + 2 months) exist, so ingest (at most 24 h ahead) never meets a missing month.
 * - Idempotent and safe when several instances run it at once: the work runs under a transaction-level
 *   advisory lock, and only the months missing from the catalogue are created.
 * - Creating a partition briefly locks `events`; `lock_timeout` keeps a run from queueing ingest
 *   behind it for long: a run that times out is retried by the next one (or by ingest, see track.ts).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Services } from './context.js';

const LOCK_KEY = 0x65766e74_7061; // "evnt" "pa": one key for this job, all instances
const PAST_DAYS = 90;
const AHEAD_MONTHS = 2;
const DAY_MS = 86_400_000;

export interface MonthPartition {
  name: string;
  from: Date;
  to: Date;
}

/** The partition holding a UTC month: `events_y2027m02` for February 2027. */
export function monthPartition(year: number, month: number): MonthPartition {
  const from = new Date(Date.UTC(year, month, 1));
  const to = new Date(Date.UTC(year, month + 1, 1));
  const name = `events_y${from.getUTCFullYear()}m${String(from.getUTCMonth() + 1).padStart(2, '0')}`;
  return { name, from, to };
}

/** The months that must exist at `now`, oldest first. */
export function partitionsNeeded(now: Date): MonthPartition[] {
  const first = new Date(now.getTime() - PAST_DAYS * DAY_MS);
  const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + AHEAD_MONTHS, 1));
  const months: MonthPartition[] = [];
  for (let y = first.getUTCFullYear(), m = first.getUTCMonth(); Date.UTC(y, m, 1) <= last.getTime(); m++) {
    months.push(monthPartition(y, m));
  }
  return months;
}

/** Creates the partitions `now` needs that do not exist yet; returns the names it created. */
export async function ensureEventPartitions(em: EntityManager, now: Date): Promise<string[]> {
  const needed = partitionsNeeded(now);
  return withConnection(em, async (client) => {
    await client.query('begin');
    try {
      await client.query(`set local lock_timeout = '5s'`);
      await client.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
      // Read after the lock: what an instance that held it before us created is visible now.
      const { rows } = await client.query<{ name: string }>(
        `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
          where i.inhparent = 'events'::regclass`,
      );
      const have = new Set(rows.map((row) => row.name));
      const created: string[] = [];
      for (const month of needed) {
        if (have.has(month.name)) continue;
        await client.query(
          `create table "${month.name}" partition of events
             for values from ('${month.from.toISOString()}') to ('${month.to.toISOString()}')`,
        );
        created.push(month.name);
      }
      await client.query('commit');
      return created;
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    }
  });
}

interface PgClient {
  query<T>(text: string, values?: unknown[]): Promise<{ rows: T[] }>;
}
interface KnexClient {
  acquireConnection(): Promise<PgClient>;
  releaseConnection(connection: PgClient): Promise<unknown>;
}

/** A pooled connection of the ORM's, held for `work`: locks and transactions need one connection. */
export async function withConnection<T>(em: EntityManager, work: (client: PgClient) => Promise<T>): Promise<T> {
  const knex = (em.getConnection().getKnex() as unknown as { client: KnexClient }).client;
  const connection = await knex.acquireConnection();
  try {
    return await work(connection);
  } finally {
    await knex.releaseConnection(connection);
  }
}

export interface Job {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `work` every `everyMs` (timer unref'd), one run at a time; a failed run is logged and the next
 * one tries again.
 */
export function every(services: Services, name: string, everyMs: number, work: () => Promise<unknown>): Job {
  let running: Promise<void> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = work()
      .then(
        () => undefined,
        (error: unknown) => services.log.warn({ err: error, job: name }, `${name} failed; retrying at the next run`),
      )
      .finally(() => {
        running = undefined;
      });
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** The daily partition job, after a first run now (awaited: ingest needs the current month). */
export async function startPartitionJob(services: Services): Promise<Job> {
  await ensureEventPartitions(services.orm.em.fork(), services.now());
  return every(services, 'event partitions', DAY_MS, () =>
    ensureEventPartitions(services.orm.em.fork(), services.now()),
  );
}
