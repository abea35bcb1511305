/**
 * `npm run bench:track`: tracking at volume, per runtime of BENCH_RUNTIMES (bench/runtimes.ts; the
 * machine's Node and Node 24 by default). Not part of `npm test`. Needs DATABASE_URL: a fresh
 * `bench_<random>` database on that cluster per runtime, dropped afterwards.
 *
 * - Ingest: POST /api/public/track on the full app (bench/server.ts) against its floor
 *   (bench/track-floor.ts: bare Express and the same INSERT on raw pg), batches of 1, 50 and 500
 *   events, one after the other on the same database; events/s and p99 of each, and the ratio
 *   service/floor in events/s (issue 15's target: at least 0.5 at 50 and 500).
 * - Stats: two projects of the same database, 100 k and 2 M events spread over the 30 days before
 *   today (bulk-loaded with generate_series, with the hour marks ingest would have written, then
 *   rolled up by the job), and GET …/stats over them, by day over 30 days and by hour over 7 days;
 *   mean and p99 latency on one connection, and the ratio 2 M / 100 k of the mean (target: at most 1.5).
 *
 * BENCH_CONNECTIONS (32), BENCH_ROUNDS (3) alternating rounds of BENCH_WARMUP (2) and BENCH_DURATION (5)
 * seconds per server and batch size, medians reported;
 * BENCH_STATS_EVENTS (2000000) for the large project.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { openDatabase } from '../server/database.js';
import { rollUpEvents } from '../server/event-rollups.js';
import { newId } from '../server/ids.js';
import { randomToken } from '../server/crypto.js';
import { createBenchDatabase, createCleanups, envInt, runBenchmark, startChild, type Child } from './lib.js';
import { benchRuntimes, type Runtime } from './runtimes.js';
import { sessionCookie } from './targets.js';

const load = {
  connections: envInt('BENCH_CONNECTIONS', 32),
  durationSeconds: envInt('BENCH_DURATION', 5),
  warmupSeconds: envInt('BENCH_WARMUP', 2),
  rounds: envInt('BENCH_ROUNDS', 3),
};
const BATCHES = [1, 50, 500];
const STATS_EVENTS = [100_000, envInt('BENCH_STATS_EVENTS', 2_000_000)];
const INGEST_TARGET = 0.5;
const STATS_TARGET = 1.5;
const MANY = '1000000000';

const cleanups = createCleanups();

interface Load {
  reqPerSec: number;
  /** Mean latency (ms): autocannon's percentiles are whole milliseconds. */
  mean: number;
  p50: number;
  p99: number;
  requests: number;
  bad: number;
}

async function hammer(
  url: string,
  options: {
    method?: 'GET' | 'POST';
    body?: string;
    headers: Record<string, string>;
    seconds: number;
    connections?: number;
  },
): Promise<Load> {
  const result = await autocannon({
    url,
    method: options.method ?? 'GET',
    body: options.body,
    headers: options.headers,
    connections: options.connections ?? load.connections,
    duration: options.seconds,
  });
  return {
    reqPerSec: result.requests.average,
    mean: result.latency.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    bad: result.errors + result.non2xx + result.timeouts,
  };
}

/** Each figure's median over the rounds; errors summed. */
function median(loads: Load[]): Load {
  const mid = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return {
    reqPerSec: mid(loads.map((l) => l.reqPerSec)),
    mean: mid(loads.map((l) => l.mean)),
    p50: mid(loads.map((l) => l.p50)),
    p99: mid(loads.map((l) => l.p99)),
    requests: loads.reduce((sum, l) => sum + l.requests, 0),
    bad: loads.reduce((sum, l) => sum + l.bad, 0),
  };
}

/** Warm-up, then the measured window. */
async function measured(url: string, options: Parameters<typeof hammer>[1]): Promise<Load> {
  await hammer(url, { ...options, seconds: load.warmupSeconds });
  return hammer(url, options);
}

/** A signed-up, verified owner's session cookie and default organization. */
async function signUp(baseUrl: string, mailDir: string): Promise<{ cookie: string; organizationId: string }> {
  const { headers } = await sessionCookie(baseUrl, mailDir);
  const organizations = (await (await fetch(`${baseUrl}/api/user/organizations`, { headers })).json()) as {
    data: { id: string }[];
  };
  return { cookie: headers.cookie!, organizationId: organizations.data[0]!.id };
}

async function createProject(db: pg.Client, organizationId: string, name: string) {
  const project = { id: newId(), publishableKey: `pk_${randomToken(24)}` };
  await db.query(
    `insert into projects (id, organization_id, name, slug, status, publishable_key, allowed_origins, created_at, updated_at)
     values ($1, $2, $3, $4, 'active', $5, '{}', now(), now())`,
    [project.id, organizationId, name, name.toLowerCase().replace(/[^a-z0-9]+/g, '-'), project.publishableKey],
  );
  return project;
}

function batchBody(size: number): string {
  return JSON.stringify({
    events: Array.from({ length: size }, (_, i) => ({
      name: i % 5 === 0 ? 'signup_click' : 'page_view',
      anonymousId: `visitor-${i}`,
      properties: { path: `/pricing/${i % 7}`, referrer: 'https://example.com/', scroll: 0.5, returning: i % 2 === 0 },
    })),
  });
}

const fmt = (n: number, digits = 0) => n.toFixed(digits).padStart(10);

async function ingest(app: Child, floor: Child, key: string): Promise<boolean> {
  console.log(
    `\ningest: ${load.connections} connections, ${load.rounds} alternating rounds of ${load.durationSeconds} s per server and batch size (medians)`,
  );
  console.log(
    `${'batch'.padEnd(8)}${'server'.padEnd(10)}${'events/s'.padStart(10)}${'req/s'.padStart(10)}${'p99 ms'.padStart(10)}`,
  );
  let valid = true;
  for (const size of BATCHES) {
    const body = batchBody(size);
    const json = { 'content-type': 'application/json' };
    const check = await fetch(`${app.url}/api/public/track`, {
      method: 'POST',
      headers: { ...json, 'x-publishable-key': key },
      body,
    });
    if (check.status !== 202) throw new Error(`the service answered ${check.status}: ${await check.text()}`);
    // Rounds alternate the two servers, so that a neighbour's load on this machine falls on both alike;
    // each figure is the median of its rounds.
    const rounds: { service: Load; floor: Load }[] = [];
    for (let round = 0; round < load.rounds; round++) {
      rounds.push({
        service: await measured(`${app.url}/api/public/track`, {
          method: 'POST',
          body,
          headers: { ...json, 'x-publishable-key': key },
          seconds: load.durationSeconds,
        }),
        floor: await measured(`${floor.url}/track`, {
          method: 'POST',
          body,
          headers: json,
          seconds: load.durationSeconds,
        }),
      });
    }
    const service = median(rounds.map((r) => r.service));
    const bare = median(rounds.map((r) => r.floor));
    for (const [name, m] of [
      ['service', service],
      ['floor', bare],
    ] as const) {
      console.log(
        `${String(size).padEnd(8)}${name.padEnd(10)}${fmt(m.reqPerSec * size)}${fmt(m.reqPerSec)}${fmt(m.p99, 1)}`,
      );
      if (m.bad > 0) {
        console.log(`  ${m.bad} errors or non-2xx answers: the run is invalid`);
        valid = false;
      }
    }
    const ratio = service.reqPerSec / bare.reqPerSec;
    const verdict =
      size === 1
        ? '(no target)'
        : ratio >= INGEST_TARGET
          ? `(target ≥ ${INGEST_TARGET}: met)`
          : `(target ≥ ${INGEST_TARGET}: MISSED)`;
    console.log(`${String(size).padEnd(8)}${'ratio'.padEnd(10)}${fmt(ratio, 2)} ${verdict}`);
  }
  return valid;
}

/** `count` events over the 30 days before today, with the hour marks ingest writes. */
async function bulkLoad(db: pg.Client, project: { id: string }, organizationId: string, count: number, today: Date) {
  const start = new Date(today.getTime() - 30 * 86_400_000);
  await db.query(
    `insert into events (organization_id, project_id, name, anonymous_id, occurred_at, properties)
     select $1, $2, 'event_' || (g % 8), 'visitor_' || ((g::bigint * 7919) % 5000),
            $3::timestamptz + (g::float8 / $4) * interval '30 days', null
       from generate_series(0, $4 - 1) g`,
    [organizationId, project.id, start.toISOString(), count],
  );
  await db.query(
    `insert into event_rollup_marks (project_id, kind, bucket)
     select $1, 'hour', h from generate_series($2::timestamptz, $3::timestamptz - interval '1 hour', interval '1 hour') h`,
    [project.id, start.toISOString(), today.toISOString()],
  );
}

async function stats(app: Child, db: pg.Client, databaseUrl: string, cookie: string, organizationId: string) {
  const today = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
  const projects = [];
  for (const count of STATS_EVENTS) {
    const project = await createProject(db, organizationId, `Stats ${count}`);
    const began = Date.now();
    await bulkLoad(db, project, organizationId, count, today);
    console.log(`\nloaded ${count} events in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    projects.push({ count, project });
  }
  const orm = await openDatabase(databaseUrl);
  try {
    const began = Date.now();
    const run = await rollUpEvents(orm.em.fork(), new Date());
    console.log(
      `rollup job: ${run?.hours} hours and ${run?.days} days in ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
  } finally {
    await orm.close(true);
  }
  await db.query(
    'analyze events; analyze event_rollups_hourly; analyze event_rollups_daily; analyze event_rollup_marks',
  );
  const queries = [
    ['by day, 30 days', ''],
    ['by hour, 7 days', `?interval=hour&from=${new Date(today.getTime() - 7 * 86_400_000).toISOString()}`],
  ] as const;
  // One connection: each figure is a request's own latency, not a queue's. Rounds alternate the projects.
  console.log(
    `\nstats: 1 connection, ${load.rounds} alternating rounds of ${load.durationSeconds} s per project (medians)`,
  );
  console.log(
    `${'query'.padEnd(18)}${'events'.padStart(10)}${'req/s'.padStart(10)}${'mean ms'.padStart(10)}${'p99 ms'.padStart(10)}`,
  );
  let valid = true;
  for (const [label, query] of queries) {
    const urls = projects.map(
      ({ project }) => `${app.url}/api/user/organizations/${organizationId}/projects/${project.id}/stats${query}`,
    );
    const totals: unknown[] = [];
    for (const url of urls) {
      const check = await fetch(url, { headers: { cookie } });
      const body = (await check.json()) as { data?: { totals?: { events?: number } } };
      if (check.status !== 200) throw new Error(`stats answered ${check.status}: ${JSON.stringify(body)}`);
      totals.push(body.data?.totals?.events);
    }
    const rounds: Load[][] = urls.map(() => []);
    for (let round = 0; round < load.rounds; round++) {
      for (const [i, url] of urls.entries()) {
        rounds[i]!.push(await measured(url, { headers: { cookie }, seconds: load.durationSeconds, connections: 1 }));
      }
    }
    const figures = rounds.map(median);
    for (const [i, m] of figures.entries()) {
      if (m.bad > 0) valid = false;
      console.log(
        `${label.padEnd(18)}${fmt(projects[i]!.count)}${fmt(m.reqPerSec)}${fmt(m.mean, 2)}${fmt(m.p99, 2)}   (totals.events ${totals[i]})`,
      );
    }
    const ratio = figures[1]!.mean / Math.max(figures[0]!.mean, 0.01);
    console.log(
      `${label.padEnd(18)}${'ratio'.padStart(10)}${fmt(ratio, 2)} (mean latency, target ≤ ${STATS_TARGET}: ${ratio <= STATS_TARGET ? 'met' : 'MISSED'})`,
    );
  }
  return valid;
}

/** A free tier whose monthly event allowance the bench never reaches: the check still runs on every batch. */
const ROOMY_PLANS = JSON.stringify([
  { id: 'free', name: 'Free', maxSeats: 3, projects: 10, eventsPerMonth: 1e12, prices: {} },
]);

async function runOn(runtime: Runtime, databaseUrl: string): Promise<boolean> {
  const mark = cleanups.size;
  try {
    console.log(
      `\n== node ${runtime.version} (${runtime.name}) for the servers, autocannon on node ${process.version}`,
    );
    const database = await createBenchDatabase(databaseUrl);
    cleanups.push(database.drop);
    const mailDir = mkdtempSync(path.join(os.tmpdir(), 'bench-track-mail-'));
    cleanups.push(async () => rmSync(mailDir, { recursive: true, force: true }));
    const app = await startChild(
      'bench/server.ts',
      {
        NODE_ENV: 'production',
        MAIL_DIR: mailDir,
        DATABASE_URL: database.url,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_GLOBAL_POINTS: MANY,
        RATE_LIMIT_PUBLIC_TRACK_POINTS: MANY,
        BILLING_PLANS: ROOMY_PLANS,
        ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        RATE_LIMIT_PREFIX: `bench:${randomBytes(6).toString('hex')}`,
      },
      { node: runtime.node },
    );
    cleanups.push(app.stop);
    console.log(`database: ${database.name}; rate limiter: ${String(app.info.rateLimits)}; ${os.cpus().length} CPUs`);
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    cleanups.push(() => db.end());
    const { cookie, organizationId } = await signUp(app.url, mailDir);
    const tracked = await createProject(db, organizationId, 'Tracked');
    const floorProject = await createProject(db, organizationId, 'Floor');
    const floor = await startChild(
      'bench/track-floor.ts',
      {
        FLOOR_DATABASE_URL: database.url,
        FLOOR_PUBLISHABLE_KEY: floorProject.publishableKey,
        BILLING_PLANS: ROOMY_PLANS,
      },
      { node: runtime.node },
    );
    cleanups.push(floor.stop);
    const ingested = await ingest(app, floor, tracked.publishableKey);
    await floor.stop();
    const counted = await stats(app, db, database.url, cookie, organizationId);
    return ingested && counted;
  } finally {
    await cleanups.undo(mark);
  }
}

await runBenchmark('bench:track', cleanups, async () => {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl)
    throw new Error('bench:track needs DATABASE_URL: its floor and its bulk load use raw pg on that cluster');
  let valid = true;
  for (const runtime of benchRuntimes()) valid = (await runOn(runtime, databaseUrl)) && valid;
  return valid;
});
