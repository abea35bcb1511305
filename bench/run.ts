/**
 * `npm run bench`: the full app (bench/server.ts) and the floors of each target (bench/targets.ts: a bare
 * Express handler, a bare node:http handler, a Redis session read, the list's SELECT on raw pg), each
 * server in its own process, one loaded at a time by autocannon from this one. Not part of `npm test`.
 *
 * - The whole set runs once per runtime of BENCH_RUNTIMES (bench/runtimes.ts: the machine's Node and
 *   Node 24 by default); the servers run on that runtime, autocannon on the machine's.
 * - Each route gets req/s, p50, p99 and the server process's CPU time per request; the PAT list also
 *   the database's work per request (pg_stat_database, bench/lib.ts measure), with the raw-pg floor's
 *   beside it as a check of the counting (one transaction a request, no writes).
 * - DATABASE_URL set: a fresh `bench_<random>` database on that cluster per runtime, dropped afterwards;
 *   unset: the embedded PostgreSQL of createApp under DATA_DIR (.data), and no raw-pg floor or database
 *   counts. REDIS_URL set: the Redis limiter and the Redis session floor; unset: in-memory limits.
 * - Each ratio full/floor is printed, with the minimum issue 12 asks for where it sets one (on Node 24,
 *   50 connections, the Redis limiter on), and a summary per runtime at the end. A route that misses one
 *   is loaded once more while the full app profiles itself, and the run prints where its CPU went
 *   (bench/profile.ts: PostgreSQL and Redis clients, tRPC, zod, Node, system calls, garbage collection…). A miss is printed, not
 *   an exit code; errors or non-2xx answers during a measurement make the run invalid (exit code 1),
 *   since they would measure something else.
 *
 * BENCH_CONNECTIONS (50), BENCH_WARMUP (2) and BENCH_DURATION (10) seconds per server and target.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  clean,
  createBenchDatabase,
  createCleanups,
  databaseCounters,
  envInt,
  measure,
  printTable,
  runBenchmark,
  startChild,
  verify,
  type Child,
  type Measurement,
  type Row,
} from './lib.js';
import type { ProfileShare } from './profile.js';
import { benchRuntimes, type Runtime } from './runtimes.js';
import { BENCH_ORIGIN, targets, type Target } from './targets.js';

const load = {
  connections: envInt('BENCH_CONNECTIONS', 50),
  durationSeconds: envInt('BENCH_DURATION', 10),
  warmupSeconds: envInt('BENCH_WARMUP', 2),
};

// A runtime's own are undone when it is done.
const cleanups = createCleanups();

/** The full app against one floor on one target: throughput ratio, with issue 12's minimum if it sets one. */
interface Comparison {
  target: string;
  floor: string;
  full: Measurement;
  against: Measurement;
  minRatio?: number;
}

/** Database work per request of one server on a target with `databaseWork` (bounds for the full app only). */
interface DatabaseWork {
  target: string;
  server: string;
  m: Measurement;
  bounds?: Target['databaseWork'];
}

/** Where the full app's CPU went on a target that missed a target ratio (bench/profile.ts). */
interface Profiled {
  target: string;
  cpuMicrosPerRequest: number;
  shares: ProfileShare[];
}

interface RuntimeReport {
  runtime: Runtime;
  limiter: string;
  rows: Row[];
  comparisons: Comparison[];
  databaseWork: DatabaseWork[];
  profiles: Profiled[];
}

const verdict = (met: boolean) => (met ? 'MET' : 'NOT MET');

function describeComparison({ target, floor, full, against, minRatio }: Comparison): string {
  const ratio = full.reqPerSec / against.reqPerSec;
  const goal = minRatio === undefined ? '' : ` (target >= ${minRatio.toFixed(2)}: ${verdict(ratio >= minRatio)})`;
  const cpu = full.cpuMicrosPerRequest / against.cpuMicrosPerRequest;
  return `${target} vs ${floor}: ${ratio.toFixed(2)} of its req/s${goal}, ${cpu.toFixed(2)}x its CPU per request`;
}

const missed = ({ full, against, minRatio }: Comparison) =>
  minRatio !== undefined && full.reqPerSec / against.reqPerSec < minRatio;

function describeProfile({ target, cpuMicrosPerRequest, shares }: Profiled): string {
  const lines = shares
    .filter(({ share }) => share >= 0.01)
    .map(
      ({ group, share }) =>
        `    ${(share * 100).toFixed(0).padStart(3)}%  ${Math.round(share * cpuMicrosPerRequest)
          .toString()
          .padStart(4)} µs  ${group}`,
    );
  return [
    `${target}: where the full app's CPU goes (profiled under the same load, ${Math.round(cpuMicrosPerRequest)} µs per request with the profiler on):`,
    ...lines,
  ].join('\n');
}

/** Loads the full app on one route again while it profiles itself, and returns where its CPU went. */
async function profileRoute(full: Child, target: string, routePath: string, headers: Record<string, string>) {
  await full.probe({ command: 'profile-start' });
  const m = await measure(full, routePath, { ...load, warmupSeconds: 1, headers });
  const shares = await full.probe<ProfileShare[]>({ command: 'profile-stop' });
  return { target, cpuMicrosPerRequest: m.cpuMicrosPerRequest, shares };
}

function describeDatabaseWork({ target, server, m, bounds }: DatabaseWork): string {
  const work = m.database!;
  // Judged as printed: two decimals for round trips; any row written at all misses a bound of zero.
  const transactions = work.transactionsPerRequest.toFixed(2);
  const transactionsGoal = bounds
    ? ` (target <= ${bounds.maxTransactions}: ${verdict(Number(transactions) <= bounds.maxTransactions)})`
    : '';
  const writesGoal = bounds
    ? ` (target ${bounds.maxRowsWritten}: ${verdict(work.rowsWrittenPerRequest <= bounds.maxRowsWritten)})`
    : '';
  const approximate = work.openConnections
    ? ` (approximate: the server kept ${work.openConnections} connections open, whose latest counts PostgreSQL may not show)`
    : '';
  return (
    `${target}, ${server}: DB transactions/request ${transactions}${transactionsGoal}; ` +
    `rows written/request ${work.rowsWrittenPerRequest.toFixed(4)} (${work.rowsWritten} in all)${writesGoal}${approximate}`
  );
}

async function benchRuntime(runtime: Runtime): Promise<RuntimeReport> {
  const adminUrl = process.env.DATABASE_URL;
  const database = adminUrl ? await createBenchDatabase(adminUrl) : undefined;
  if (database) cleanups.push(database.drop);
  const counters = adminUrl && database ? await databaseCounters(adminUrl, database.name) : undefined;
  if (counters) cleanups.push(counters.close);

  // Mail (the bench user's verification link) goes to a folder of the run's own, never to .data/.
  const mailDir = mkdtempSync(path.join(os.tmpdir(), 'bench-mail-'));
  cleanups.push(async () => rmSync(mailDir, { recursive: true, force: true }));
  const start = (script: string, env: Record<string, string | undefined>) =>
    startChild(script, { NODE_ENV: 'production', ...env }, { node: runtime.node }).then((child) => {
      cleanups.push(child.stop);
      return child;
    });
  const full = await start('bench/server.ts', {
    MAIL_DIR: mailDir,
    DATABASE_URL: database?.url,
    LOG_LEVEL: 'warn',
    HEALTH_CACHE_MS: '1000',
    // The whole run comes from one address: the global per-IP budget must not refuse it.
    RATE_LIMIT_GLOBAL_POINTS: '1000000000',
    TRUSTED_ORIGINS: BENCH_ORIGIN,
    // Production mode requires one; a fresh one per run is enough for a throw-away database.
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    // Its counters expire with the window; a prefix of its own keeps them apart from anyone else's.
    RATE_LIMIT_PREFIX: `bench:${randomBytes(6).toString('hex')}`,
  });
  const limiter = String(full.info.rateLimits);

  console.log(`\n== node ${runtime.version} (${runtime.name}) for the servers, autocannon on node ${process.version}`);
  console.log(
    `${os.cpus().length} CPUs; ${load.connections} connections, ${load.warmupSeconds} s warm-up + ${load.durationSeconds} s per server and target`,
  );
  console.log(
    `database: ${database ? `${database.name} on DATABASE_URL's cluster` : 'embedded PostgreSQL (DATA_DIR)'}`,
  );
  console.log(`rate limiter: ${limiter}\n`);

  const report: RuntimeReport = { runtime, limiter, rows: [], comparisons: [], databaseWork: [], profiles: [] };
  for (const target of targets) {
    const prepared = await target.prepare?.(full.url, mailDir);
    const headers = { ...target.headers, ...prepared?.headers };
    const routePath = prepared?.path ?? target.path;
    const body = await verify(`${full.url}${routePath}`, headers);
    console.log(`${target.name}: verified 200, ${body.length > 300 ? `${body.slice(0, 300)}…` : body}`);
    const countDatabase = target.databaseWork ? counters : undefined;
    if (target.databaseWork && !counters) console.log(`${target.name}: database work is counted with DATABASE_URL`);

    const m = await measure(full, routePath, { ...load, headers, database: countDatabase });
    report.rows.push({ target: target.name, server: 'full app', m });
    if (m.database)
      report.databaseWork.push({ target: target.name, server: 'full app', m, bounds: target.databaseWork });

    for (const { floor, minRatio } of target.floors) {
      if (floor.requires && !process.env[floor.requires]) {
        console.log(`${target.name}: the ${floor.name} needs ${floor.requires}; skipped`);
        continue;
      }
      const context = {
        path: routePath.split('?')[0]!,
        body,
        headers,
        organizationId: prepared?.organizationId,
        databaseUrl: database?.url,
      };
      const child = await start(floor.script, floor.env(context));
      await verify(`${child.url}${routePath}`, headers);
      const f = await measure(child, routePath, {
        ...load,
        headers,
        database: floor.readsDatabase ? countDatabase : undefined,
      });
      await child.stop();
      report.rows.push({ target: target.name, server: floor.name, m: f });
      report.comparisons.push({ target: target.name, floor: floor.name, full: m, against: f, minRatio });
      if (f.database) report.databaseWork.push({ target: target.name, server: floor.name, m: f });
    }
    // A miss comes with its reason: where the full app's time goes on that route.
    if (report.comparisons.some((c) => c.target === target.name && missed(c)))
      report.profiles.push(await profileRoute(full, target.name, routePath, headers));
  }

  console.log('');
  printTable(report.rows);
  console.log('');
  for (const comparison of report.comparisons) console.log(describeComparison(comparison));
  for (const work of report.databaseWork) console.log(describeDatabaseWork(work));
  for (const profiled of report.profiles) console.log(`\n${describeProfile(profiled)}`);
  return report;
}

async function main(): Promise<boolean> {
  const reports: RuntimeReport[] = [];
  for (const runtime of benchRuntimes()) {
    const mark = cleanups.size;
    try {
      reports.push(await benchRuntime(runtime));
    } finally {
      await cleanups.undo(mark);
    }
  }

  console.log('\n== Summary: the targets of issue 12 (stated for Node 24, 50 connections, the Redis limiter on)');
  for (const { runtime, limiter, comparisons, databaseWork, profiles } of reports) {
    const note = limiter === 'redis' ? '' : `; the rate limiter was ${limiter}, not Redis`;
    console.log(`node ${runtime.version} (${runtime.name})${note}:`);
    for (const comparison of comparisons.filter((c) => c.minRatio !== undefined))
      console.log(`  ${describeComparison(comparison)}`);
    for (const work of databaseWork.filter((w) => w.bounds)) console.log(`  ${describeDatabaseWork(work)}`);
    for (const profiled of profiles) console.log(describeProfile(profiled).replace(/^/gm, '  '));
  }

  const invalid = reports.flatMap(({ runtime, rows }) =>
    rows.filter((r) => !clean(r.m)).map((row) => ({ runtime, ...row })),
  );
  for (const { runtime, target, server, m } of invalid)
    console.log(
      `INVALID: ${server}, ${target} on node ${runtime.version} had ${m.errors} errors (${m.timeouts} timeouts) and ${m.non2xx} non-2xx answers`,
    );
  return invalid.length === 0;
}

await runBenchmark('bench', cleanups, main);
