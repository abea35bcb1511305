/**
 * Hourly and daily rollups of tracked events, exact and race-free, so that stats read one row per
 * past bucket instead of its events.
 *
 * The invariant: every stored event of project P at time t is counted in the rollup row of
 * (P, hour of t) and (P, day of t), or a mark names that bucket (or, for the day, an hour of it) in
 * `event_rollup_marks`. Stats (`bucketStats`) therefore read a bucket from its rollup row when no mark
 * names it, from raw events when one does, and as zero when neither exists.
 *
 * How it holds:
 * - Ingest writes its events and an `hour` mark for each hour they touch in one statement
 *   (procedures/public/events/store-events.ts): marks commit with their events. Marks are appended,
 *   never updated, with no unique key: no ingest waits on another's mark (no hot row).
 * - The job (`rollUpEvents`, every minute, and callable in tests) works in one REPEATABLE READ
 *   transaction, so it sees one snapshot: it deletes the `hour` marks of closed hours visible in that
 *   snapshot, recomputes those hours from the raw events of the same snapshot, and appends a `day`
 *   mark for their days; then the same for the `day` marks of closed days. An ingest that commits
 *   after the snapshot left marks the job did not see and so did not delete: the next run recomputes
 *   their buckets. A late event (up to 90 days old) is simply an ingest into a closed hour.
 * - A bucket is closed once it ended more than a minute ago by the service's clock; the current
 *   hour and day are never rolled up, and their marks make stats read them raw.
 * - One run at a time across instances: a session advisory lock, taken (try, never wait) on the
 *   run's own connection before its transaction starts, so the snapshot is taken after the previous
 *   run committed.
 * - Marks of deleted projects are dropped with nothing rolled up (their rows went with the project).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Services } from './context.js';
import { every, withConnection, type Job } from './event-partitions.js';

const LOCK_KEY = 0x65766e74_726f; // "evnt" "ro"
const MARGIN_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export type Interval = 'hour' | 'day';
const TABLE = { hour: 'event_rollups_hourly', day: 'event_rollups_daily' } as const;

/** SQL: the start of the UTC hour or day of a timestamptz expression. */
export const bucketStart = (interval: Interval, expression: string): string =>
  `(date_trunc('${interval}', ${expression} at time zone 'UTC') at time zone 'UTC')`;

/** The start of the bucket `date` falls in. */
export function bucketOf(interval: Interval, date: Date): Date {
  const size = interval === 'hour' ? HOUR_MS : DAY_MS;
  return new Date(Math.floor(date.getTime() / size) * size);
}

/** Deletes the marks of `interval` before `closedBefore` and recomputes their buckets (same snapshot). */
function rollUpSql(interval: Interval): string {
  const dayMark =
    interval === 'hour'
      ? `, day_marks as (
           insert into event_rollup_marks (project_id, kind, bucket)
           select distinct project_id, 'day', ${bucketStart('day', 'bucket')} from buckets)`
      : '';
  return `with marked as (
      delete from event_rollup_marks where kind = '${interval}' and bucket < $1 returning project_id, bucket
    ), buckets as (
      select distinct m.project_id, m.bucket, p.organization_id
        from marked m join projects p on p.id = m.project_id
    )${dayMark}, rolled as (
      insert into ${TABLE[interval]} as r (project_id, organization_id, bucket, events, unique_visitors, names, computed_at)
      select b.project_id, b.organization_id, b.bucket, a.events, a.unique_visitors, a.names, now()
        from buckets b cross join lateral (
          select count(*) as events, count(distinct e.anonymous_id) as unique_visitors,
                 coalesce((select jsonb_object_agg(n.name, n.events) from (
                   select e2.name, count(*) as events from events e2
                    where e2.project_id = b.project_id and e2.occurred_at >= b.bucket
                      and e2.occurred_at < b.bucket + interval '1 ${interval}'
                    group by e2.name) n), '{}'::jsonb) as names
            from events e
           where e.project_id = b.project_id and e.occurred_at >= b.bucket
             and e.occurred_at < b.bucket + interval '1 ${interval}'
        ) a
      on conflict (project_id, bucket) do update
        set events = excluded.events, unique_visitors = excluded.unique_visitors,
            names = excluded.names, computed_at = excluded.computed_at
      returning 1
    )
    select count(*)::int as buckets from rolled`;
}

export interface RollupRun {
  hours: number;
  days: number;
}

/**
 * One run of the rollup job at `now` (the service's clock); null when another instance is running
 * one. See the header for what it guarantees.
 */
export async function rollUpEvents(em: EntityManager, now: Date): Promise<RollupRun | null> {
  const closedHours = bucketOf('hour', new Date(now.getTime() - MARGIN_MS));
  const closedDays = bucketOf('day', new Date(now.getTime() - MARGIN_MS));
  return withConnection(em, async (client) => {
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [LOCK_KEY]);
    if (!rows[0]?.locked) return null;
    try {
      await client.query('begin isolation level repeatable read; set local jit = off');
      try {
        const hours = await client.query<{ buckets: number }>(rollUpSql('hour'), [closedHours.toISOString()]);
        const days = await client.query<{ buckets: number }>(rollUpSql('day'), [closedDays.toISOString()]);
        await client.query('commit');
        return { hours: hours.rows[0]!.buckets, days: days.rows[0]!.buckets };
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      }
    } finally {
      await client.query('select pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  });
}

/** The rollup job, every minute. */
export function startRollupJob(services: Services): Job {
  return every(services, 'event rollups', 60_000, () => rollUpEvents(services.orm.em.fork(), services.now()));
}

export interface BucketCount {
  start: string;
  events: number;
  uniqueVisitors: number;
}

export interface ProjectStats {
  buckets: BucketCount[];
  totalEvents: number;
  /** Every name's count over the range, most frequent first (ties by name), at most `topNames`. */
  names: { name: string; events: number }[];
  distinctNames: number;
}

/**
 * The counts of a project's buckets in [from, to) (both bucket starts), in one statement (one
 * snapshot): rollup rows where no mark names the bucket, raw events for the marked buckets (the
 * current one, and any late or not yet rolled up). The marks are read by a loose index scan: one
 * probe per distinct marked hour, however many ingests marked it.
 */
export async function bucketStats(
  em: EntityManager,
  projectId: string,
  interval: Interval,
  from: Date,
  to: Date,
  topNames: number,
): Promise<ProjectStats> {
  const dirty =
    interval === 'hour'
      ? 'select bucket from hour_marks where bucket is not null'
      : `select ${bucketStart('day', 'bucket')} from hour_marks where bucket is not null
         union select bucket from event_rollup_marks where project_id = $1 and kind = 'day' and bucket >= $2 and bucket < $3`;
  const sql = `with recursive hour_marks(bucket) as (
      (select bucket from event_rollup_marks where project_id = $1 and kind = 'hour' and bucket >= $2 and bucket < $3
        order by bucket limit 1)
      union all
      select (select m.bucket from event_rollup_marks m
               where m.project_id = $1 and m.kind = 'hour' and m.bucket > h.bucket and m.bucket < $3
               order by m.bucket limit 1)
        from hour_marks h where h.bucket is not null
    ), dirty(bucket) as (${dirty}
    ), raw as (
      select d.bucket, count(e.anonymous_id) as events, count(distinct e.anonymous_id) as unique_visitors
        from dirty d left join events e on e.project_id = $1 and e.occurred_at >= d.bucket
         and e.occurred_at < d.bucket + interval '1 ${interval}'
       group by d.bucket
    ), raw_names as (
      select e.name, count(*) as events from dirty d join events e on e.project_id = $1
         and e.occurred_at >= d.bucket and e.occurred_at < d.bucket + interval '1 ${interval}'
       group by e.name
    ), rolled as (
      select r.bucket, r.events, r.unique_visitors, r.names from ${TABLE[interval]} r
       where r.project_id = $1 and r.bucket >= $2 and r.bucket < $3
         and not exists (select 1 from dirty d where d.bucket = r.bucket)
    ), names as (
      select name, sum(events)::bigint as events from (
        select name, events from raw_names
        union all select n.key, n.value::bigint from rolled, jsonb_each_text(rolled.names) n
      ) x group by name
    )
    select 'bucket' as kind, bucket, events::bigint, unique_visitors::bigint, null as name from raw where events > 0
    union all select 'bucket', bucket, events, unique_visitors, null from rolled
    union all (select 'name', null, events, null, name from names order by events desc, name collate "C" limit $4)
    union all select 'names', null, count(*), null, null from names`;
  // JIT off: the planner cannot tell how few raw events the marked buckets hold, so its estimate on a
  // large project crosses jit_above_cost and compiling would take a second for a query of milliseconds.
  const rows = await withConnection(em, async (client) => {
    await client.query('begin isolation level repeatable read read only; set local jit = off');
    try {
      return (
        await client.query<{
          kind: string;
          bucket: Date | null;
          events: string;
          unique_visitors: string | null;
          name: string | null;
        }>(sql, [projectId, from.toISOString(), to.toISOString(), topNames])
      ).rows;
    } finally {
      await client.query('commit');
    }
  });
  const counted = new Map<number, { events: number; uniqueVisitors: number }>();
  const names: ProjectStats['names'] = [];
  let distinctNames = 0;
  for (const row of rows) {
    if (row.kind === 'bucket') {
      counted.set(new Date(row.bucket!).getTime(), {
        events: Number(row.events),
        uniqueVisitors: Number(row.unique_visitors),
      });
    } else if (row.kind === 'name') names.push({ name: row.name!, events: Number(row.events) });
    else distinctNames = Number(row.events);
  }
  const size = interval === 'hour' ? HOUR_MS : DAY_MS;
  const buckets: BucketCount[] = [];
  let totalEvents = 0;
  for (let at = from.getTime(); at < to.getTime(); at += size) {
    const count = counted.get(at) ?? { events: 0, uniqueVisitors: 0 };
    totalEvents += count.events;
    buckets.push({ start: new Date(at).toISOString(), ...count });
  }
  names.sort((a, b) => b.events - a.events || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { buckets, totalEvents, names, distinctNames };
}
