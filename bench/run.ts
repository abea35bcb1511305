/**
 * `npm run bench`: the full app (bench/server.ts) and a bare Express handler (bench/bare.ts), each
 * in its own process, loaded by autocannon from this one. Not part of `npm test`.
 *
 * - DATABASE_URL set: a fresh `bench_<random>` database on that cluster, dropped afterwards;
 *   unset: the embedded PostgreSQL of createApp under DATA_DIR (.data). REDIS_URL set: the Redis
 *   limiter; unset: in-memory limits.
 * - Each target's ratio to a bare handler is printed with the minimum its issue asks for (with the
 *   Redis limiter): health 0.5, /api/user/me 0.3. A miss is printed, not an exit code; errors or non-2xx answers during a
 *   measurement make the run invalid (exit code 1), since they would measure something else.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  clean,
  createBenchDatabase,
  envInt,
  measure,
  printTable,
  startChild,
  verify,
  type Measurement,
} from './lib.js';
import { BENCH_ORIGIN, targets } from './targets.js';

const load = {
  connections: envInt('BENCH_CONNECTIONS', 50),
  durationSeconds: envInt('BENCH_DURATION', 10),
  warmupSeconds: envInt('BENCH_WARMUP', 2),
};

// Undone last to first, on success, on error and on Ctrl-C alike.
const cleanups: Array<() => Promise<void>> = [];
let cleaning: Promise<void> | undefined;
const cleanUp = () =>
  (cleaning ??= (async () => {
    for (const undo of cleanups.reverse())
      await undo().catch((error: unknown) => console.error(`cleanup failed: ${String(error)}`));
  })());

async function main(): Promise<boolean> {
  const database = process.env.DATABASE_URL ? await createBenchDatabase(process.env.DATABASE_URL) : undefined;
  if (database) cleanups.push(database.drop);

  // Mail (the bench user's verification link) goes to a folder of the run's own, never to .data/.
  const mailDir = mkdtempSync(path.join(os.tmpdir(), 'bench-mail-'));
  cleanups.push(async () => rmSync(mailDir, { recursive: true, force: true }));
  const full = await startChild('bench/server.ts', {
    NODE_ENV: 'production',
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
  cleanups.push(full.stop);

  console.log(
    `node ${process.version}, ${os.cpus().length} CPUs; ${load.connections} connections, ${load.warmupSeconds} s warm-up + ${load.durationSeconds} s per target`,
  );
  console.log(
    `database: ${database ? `${database.name} on DATABASE_URL's cluster` : 'embedded PostgreSQL (DATA_DIR)'}`,
  );
  console.log(`rate limiter: ${String(full.info.rateLimits)}\n`);

  const rows: Array<{ label: string; m: Measurement }> = [];
  const ratios: Array<{ name: string; ratio: number; minRatio?: number }> = [];
  for (const target of targets) {
    const prepared = await target.prepare?.(full.url, mailDir);
    const headers = { ...target.headers, ...prepared?.headers };
    const routePath = prepared?.path ?? target.path;
    const body = await verify(`${full.url}${routePath}`, headers);
    console.log(`${target.name}: verified 200, ${body.length > 300 ? `${body.slice(0, 300)}…` : body}`);
    const m = await measure(`${full.url}${routePath}`, { ...load, headers });
    rows.push({ label: `full ${target.name}`, m });

    if (target.baseline) {
      const bare = await startChild('bench/bare.ts', {
        NODE_ENV: 'production',
        BARE_PATH: routePath.split('?')[0],
        BARE_BODY: body,
      });
      cleanups.push(bare.stop);
      const b = await measure(`${bare.url}${routePath}`, load);
      await bare.stop();
      rows.push({ label: `bare ${target.name}`, m: b });
      ratios.push({ name: target.name, ratio: m.reqPerSec / b.reqPerSec, minRatio: target.minRatio });
    }

    if (target.floorMinRatio !== undefined && database && prepared?.organizationId) {
      const floor = await startChild('bench/floor.ts', {
        NODE_ENV: 'production',
        BARE_PATH: routePath.split('?')[0],
        FLOOR_DATABASE_URL: database.url,
        FLOOR_ORGANIZATION_ID: prepared.organizationId,
      });
      cleanups.push(floor.stop);
      const f = await measure(`${floor.url}${routePath}`, load);
      await floor.stop();
      rows.push({ label: `floor ${target.name}`, m: f });
      ratios.push({
        name: `${target.name} vs the database floor`,
        ratio: m.reqPerSec / f.reqPerSec,
        minRatio: target.floorMinRatio,
      });
    } else if (target.floorMinRatio !== undefined) {
      console.log(`${target.name}: the database floor needs DATABASE_URL; skipped`);
    }
  }

  console.log('');
  printTable(rows);
  console.log('');
  for (const { name, ratio, minRatio } of ratios) {
    const note =
      full.info.rateLimits === 'redis' ? '' : ' (the targets are stated for the Redis limiter; this run used memory)';
    const verdict =
      minRatio === undefined
        ? ''
        : `; target >= ${minRatio.toFixed(2)} ${ratio >= minRatio ? 'MET' : 'NOT MET'}${note}`;
    console.log(`${name}: full/bare = ${ratio.toFixed(2)}${verdict}`);
  }
  const invalid = rows.filter((r) => !clean(r.m));
  for (const { label, m } of invalid)
    console.log(`INVALID: ${label} had ${m.errors} errors (${m.timeouts} timeouts) and ${m.non2xx} non-2xx answers`);
  return invalid.length === 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  if (!(await main())) process.exitCode = 1;
} catch (error) {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
