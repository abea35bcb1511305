/**
 * The storage of tracked events: monthly partitions created ahead by a clock the test moves, and
 * rollups that always equal a raw COUNT over the same events, late events and concurrent ingestion
 * included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureEventPartitions, partitionsNeeded } from '../../server/event-partitions.js';
import { bucketStats, rollUpEvents, type Interval } from '../../server/event-rollups.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTrackingProject, track, type TrackingProject } from '../support/analytics.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const clock = { at: Date.parse('2027-01-31T23:59:00Z'), now: () => new Date(clock.at) };

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    env: {
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      RATE_LIMIT_GLOBAL_POINTS: '100000',
      RATE_LIMIT_PUBLIC_TRACK_POINTS: '100000',
    },
    now: clock.now,
  });
});
afterAll(async () => {
  await t?.close();
});

const sql = <T>(text: string, params: unknown[] = []) =>
  t.services.orm.em.fork().getConnection().execute<T[]>(text, params);
const partitions = async () =>
  (
    await sql<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'events'::regclass order by 1`,
    )
  ).map((r) => r.name);

describe('partitions', () => {
  it('covers [now − 90 days, now + 2 months] by UTC month', () => {
    expect(partitionsNeeded(new Date('2027-01-31T23:59:00Z')).map((p) => p.name)).toEqual([
      'events_y2026m11',
      'events_y2026m12',
      'events_y2027m01',
      'events_y2027m02',
      'events_y2027m03',
    ]);
  });

  it('exist ahead at a month boundary: an event a minute into February lands in events_y2027m02', async () => {
    clock.at = Date.parse('2027-01-31T23:59:00Z');
    expect(await partitions()).toEqual(
      expect.arrayContaining(['events_y2027m01', 'events_y2027m02', 'events_y2027m03']),
    );
    const site = await createTrackingProject(t);
    const res = await track(t, site.publishableKey, {
      events: [
        { name: 'before', anonymousId: 'v', timestamp: '2027-01-31T23:58:59.999Z' },
        { name: 'after', anonymousId: 'v', timestamp: '2027-02-01T00:00:30Z' },
      ],
    });
    expect(res.status).toBe(202);
    const rows = await sql<{ name: string; part: string }>(
      'select name, tableoid::regclass::text as part from events where project_id = ? order by occurred_at',
      [site.projectId],
    );
    expect(rows).toEqual([
      { name: 'before', part: 'events_y2027m01' },
      { name: 'after', part: 'events_y2027m02' },
    ]);
  });

  it('are created idempotently by instances racing each other', async () => {
    const at = new Date('2027-06-15T12:00:00Z');
    const runs = await Promise.all(
      Array.from({ length: 5 }, () => ensureEventPartitions(t.services.orm.em.fork(), at)),
    );
    expect(runs.flat().sort()).toEqual([
      'events_y2027m04',
      'events_y2027m05',
      'events_y2027m06',
      'events_y2027m07',
      'events_y2027m08',
    ]);
    expect(await ensureEventPartitions(t.services.orm.em.fork(), at)).toEqual([]);
  });

  it('are made on the spot when ingest meets a month the daily job has not created yet', async () => {
    clock.at = Date.parse('2027-12-31T23:00:00Z');
    const site = await createTrackingProject(t);
    const res = await track(t, site.publishableKey, {
      events: [{ name: 'x', anonymousId: 'v', timestamp: '2028-01-01T01:00:00Z' }],
    });
    expect(res.status).toBe(202);
    expect(await partitions()).toContain('events_y2028m01');
  });
});

/** Raw counts per bucket, straight from the events. */
async function rawCounts(projectId: string, interval: Interval) {
  return sql<{ bucket: string; events: number; visitors: number }>(
    `select to_char(date_trunc('${interval}', occurred_at at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"') as bucket,
            count(*)::int as events, count(distinct anonymous_id)::int as visitors
       from events where project_id = ? group by 1 order by 1`,
    [projectId],
  );
}

async function rollupRows(projectId: string, interval: Interval) {
  const table = interval === 'hour' ? 'event_rollups_hourly' : 'event_rollups_daily';
  return sql<{ bucket: string; events: number; visitors: number; names: Record<string, number> }>(
    `select to_char(bucket at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.000"Z"') as bucket, events::int,
            unique_visitors::int as visitors, names from ${table} where project_id = ? and events > 0 order by 1`,
    [projectId],
  );
}

/** A batch of random events between `from` and `to`: a few names, a few dozen visitors. */
function randomBatch(n: number, from: number, to: number) {
  return {
    events: Array.from({ length: n }, () => ({
      name: `e${Math.floor(Math.random() * 6)}`,
      anonymousId: `v${Math.floor(Math.random() * 40)}`,
      timestamp: new Date(from + Math.floor(Math.random() * (to - from))).toISOString(),
    })),
  };
}

/** Stats over [from, to) must equal raw counts, bucket by bucket, and the name counts must add up. */
async function expectStatsEqualRaw(site: TrackingProject, interval: Interval, from: Date, to: Date) {
  const stats = await bucketStats(t.services.orm.em.fork(), site.projectId, interval, from, to, 1000);
  const raw = new Map((await rawCounts(site.projectId, interval)).map((r) => [r.bucket, r]));
  for (const bucket of stats.buckets) {
    const expected = raw.get(bucket.start);
    expect({ start: bucket.start, events: bucket.events, uniqueVisitors: bucket.uniqueVisitors }).toEqual({
      start: bucket.start,
      events: expected?.events ?? 0,
      uniqueVisitors: expected?.visitors ?? 0,
    });
  }
  const names = await sql<{ name: string; events: number }>(
    'select name, count(*)::int as events from events where project_id = ? and occurred_at >= ? and occurred_at < ? group by name',
    [site.projectId, from, to],
  );
  expect(Object.fromEntries(stats.names.map((n) => [n.name, n.events]))).toEqual(
    Object.fromEntries(names.map((n) => [n.name, n.events])),
  );
}

describe('rollups', () => {
  it('equal a raw COUNT and COUNT(DISTINCT) over random data, late events included', async () => {
    clock.at = Date.parse('2027-03-10T10:30:00Z');
    const now = clock.at;
    const site = await createTrackingProject(t);
    for (let i = 0; i < 6; i++) {
      expect((await track(t, site.publishableKey, randomBatch(300, now - 3 * DAY, now))).status).toBe(202);
    }
    // Before the job, everything is read raw through the marks.
    const from = new Date(now - 4 * DAY - (now % DAY));
    const to = new Date(now - (now % DAY) + DAY);
    await expectStatsEqualRaw(site, 'hour', from, to);
    await expectStatsEqualRaw(site, 'day', from, to);

    const run = await rollUpEvents(t.services.orm.em.fork(), clock.now());
    expect(run!.hours).toBeGreaterThan(50);
    const closedHour = now - (now % HOUR);
    const closedDay = now - (now % DAY);
    for (const interval of ['hour', 'day'] as const) {
      const horizon = interval === 'hour' ? closedHour : closedDay;
      const raw = (await rawCounts(site.projectId, interval)).filter((r) => Date.parse(r.bucket) < horizon);
      const rolled = await rollupRows(site.projectId, interval);
      expect(rolled.map(({ bucket, events, visitors }) => ({ bucket, events, visitors }))).toEqual(raw);
      expect(rolled.every((r) => Object.values(r.names).reduce((a, b) => a + b, 0) === r.events)).toBe(true);
    }
    await expectStatsEqualRaw(site, 'hour', from, to);
    await expectStatsEqualRaw(site, 'day', from, to);

    // Late events, into hours and days already rolled up, up to 80 days old: stats see them at once,
    // and the next run folds them in.
    expect((await track(t, site.publishableKey, randomBatch(200, now - 80 * DAY, now - 2 * DAY))).status).toBe(202);
    await expectStatsEqualRaw(site, 'day', new Date(closedDay - 85 * DAY), to);
    await rollUpEvents(t.services.orm.em.fork(), clock.now());
    await expectStatsEqualRaw(site, 'day', new Date(closedDay - 85 * DAY), to);
    const raw = (await rawCounts(site.projectId, 'day')).filter((r) => Date.parse(r.bucket) < closedDay);
    expect(
      (await rollupRows(site.projectId, 'day')).map(({ bucket, events, visitors }) => ({ bucket, events, visitors })),
    ).toEqual(raw);
    const marks = await sql<{ n: number }>(
      `select count(*)::int as n from event_rollup_marks
        where project_id = ? and (bucket < ? or (kind = 'hour' and bucket < ?))`,
      [site.projectId, new Date(closedDay), new Date(closedHour)],
    );
    expect(marks[0]!.n).toBe(0);
  });

  it('stay exact while ingestion and the job run concurrently', async () => {
    clock.at = Date.parse('2027-03-20T10:30:00Z');
    const now = clock.at;
    const site = await createTrackingProject(t);
    let ingesting = true;
    const job = (async () => {
      let runs = 0;
      while (ingesting) {
        await rollUpEvents(t.services.orm.em.fork(), clock.now());
        runs++;
      }
      return runs;
    })();
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => track(t, site.publishableKey, randomBatch(50, now - 5 * DAY, now))),
    );
    ingesting = false;
    expect(await job).toBeGreaterThan(0);
    expect(answers.every((a) => a.status === 202)).toBe(true);
    await rollUpEvents(t.services.orm.em.fork(), clock.now());
    const closedDay = now - (now % DAY);
    for (const interval of ['hour', 'day'] as const) {
      const horizon = interval === 'hour' ? now - (now % HOUR) : closedDay;
      const raw = (await rawCounts(site.projectId, interval)).filter((r) => Date.parse(r.bucket) < horizon);
      const rolled = await rollupRows(site.projectId, interval);
      expect(rolled.map(({ bucket, events, visitors }) => ({ bucket, events, visitors }))).toEqual(raw);
    }
    await expectStatsEqualRaw(site, 'hour', new Date(closedDay - 6 * DAY), new Date(closedDay + DAY));
  });

  it('runs once at a time across instances', async () => {
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => rollUpEvents(t.services.orm.em.fork(), clock.now())),
    );
    expect(runs.filter((r) => r !== null).length).toBeGreaterThanOrEqual(1);
  });
});
