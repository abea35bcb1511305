/**
 * `npm run bench:soak`: several minutes of mixed load on the full app (bench/server.ts in a process of
 * its own, started with the Node flags of `npm start`), printing the server's memory every
 * SOAK_INTERVAL seconds and, at the end, how the heap and RSS moved over the second half of the run.
 * Not part of `npm test`.
 *
 * How the memory is read: the driver asks the server child over its stdin (bench/child.ts
 * answerProbes, bench/lib.ts Child.probe) and the child answers one stdout line with its own
 * process.memoryUsage() (RSS is the kernel's resident set, the VmRSS of /proc/<pid>/status), then,
 * started with --expose-gc, runs a full garbage collection and adds the heap used after it ("live":
 * what the process retains, without the garbage still awaiting collection) and the part of that which
 * is compiled code ("code": the code spaces, and the trusted spaces where Node 22+ keeps bytecode).
 * The slope of live objects (live less code) is what tells a leak from a warm-up: code keeps coming
 * and going for many minutes as the JIT optimises what got hot and the GC flushes the bytecode of
 * functions not run lately. heapUsed before the GC is shown for reference (it saws up and down with
 * the collector). SOAK_GC=0 skips the forced collection (the slope is then of heapUsed), so that RSS
 * can also be seen without one every interval.
 *
 * The load: autocannon, BENCH_CONNECTIONS connections (50) in all. SOAK_SIGN_IN_CONNECTIONS of them (5)
 * only sign in with email and password (argon2id, 19 MiB and tens of ms of CPU each: in the same
 * cycle they would set everyone's pace); the others each cycle through the same 12 requests:
 * GET /api/public/health x2, GET /api/user/me with a session cookie x3, the project list of one
 * organization (20 rows) with a personal access token x3, tRPC user.me.get x2, a tRPC batch of
 * public.health and tenant.projects.list x1, and a project created with the access token under a
 * fresh Idempotency-Key (in a second organization, so that the listed one stays at 20 rows) x1.
 * Every request must answer 2xx (201 for the create); anything else is counted by kind, status and
 * code and makes the run invalid (exit code 1), like errors and timeouts. The budgets that would
 * refuse one client doing this (global, sign-in, and the failed-sign-in ones, which a sign-in spends
 * until it succeeds) are raised for the run. SOAK_RATE fixes the requests per second in all (a
 * twentieth of them sign-ins) instead of as many as the server answers: a steady workload whose heap
 * does not follow the machine's other load.
 *
 * Verdict (printed; a miss is not an exit code, as in bench/run.ts): over the samples of the second
 * half of the load, the least-squares slope of the live objects and of RSS in MiB/min. Noise is the
 * scatter of those samples about the fitted line (its standard deviation σ: the live heap moves with
 * the work in flight). The heap counts as flat when the line's drift across the second half stays
 * within ±2σ, i.e. the trend moves the heap less than its own samples scatter; the slope's 95%
 * interval and the drift per request served are printed beside it. RSS must stay under
 * SOAK_RSS_LIMIT_MIB (300) at every sample.
 *
 * SOAK_SNAPSHOTS=1 also takes heap snapshots (a full GC first) before the load, at its middle, at its
 * end, and after SOAK_IDLE seconds without load, into a new folder under the system's temporary folder
 * (removed afterwards unless SOAK_KEEP_SNAPSHOTS=1), and prints what changed between them by
 * constructor (bench/heap-summary.ts). Writing a snapshot stops the server for seconds and leaves its
 * RSS higher for good: use it to investigate, not for the figures; answers other than 2xx while one
 * is written (pool timeouts) are counted apart.
 *
 * Environment: DATABASE_URL (a fresh bench_<random> database on that cluster, dropped afterwards;
 * unset: the embedded PostgreSQL under DATA_DIR), REDIS_URL (unset: in-memory limits and credential
 * cache), BENCH_CONNECTIONS (50), SOAK_SIGN_IN_CONNECTIONS (5), SOAK_SECONDS (300), SOAK_INTERVAL (10),
 * SOAK_IDLE (10), SOAK_RATE (unset), SOAK_RSS_LIMIT_MIB (300), SOAK_GC (1), SOAK_START_FLAGS (0: not the
 * Node flags of npm start), SOAK_NODE_ARGS (more flags for the server, e.g. "--max-old-space-size=1024"),
 * SOAK_SNAPSHOTS, SOAK_KEEP_SNAPSHOTS.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { MemorySample } from './child.js';
import { printHeapComparison, summarizeHeapSnapshot, type HeapSummary } from './heap-summary.js';
import {
  createBenchDatabase,
  createCleanups,
  envInt,
  runBenchmark,
  startChild,
  verificationToken,
  type Child,
} from './lib.js';
import { BENCH_ORIGIN } from './targets.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The Node flags `npm start` gives the service (package.json scripts.start, less the loader that
 * startChild adds itself), so that the soak measures the process production runs.
 */
function startFlags(): string[] {
  const start =
    (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts
      ?.start ?? '';
  const words = start.trim().split(/\s+/).slice(1);
  const flags: string[] = [];
  for (let i = 0; i < words.length && words[i]!.startsWith('-'); i++) {
    if (['--import', '--require', '-r', '--loader'].includes(words[i]!)) i++;
    else if (!/^--(import|require|loader)=/.test(words[i]!)) flags.push(words[i]!);
  }
  return flags;
}

const settings = {
  connections: envInt('BENCH_CONNECTIONS', 50),
  signInConnections: envInt('SOAK_SIGN_IN_CONNECTIONS', 5),
  seconds: envInt('SOAK_SECONDS', 300),
  interval: envInt('SOAK_INTERVAL', 10),
  idle: envInt('SOAK_IDLE', 10),
  /** Requests per second in all; unset: as fast as the server answers. */
  rate: process.env.SOAK_RATE ? envInt('SOAK_RATE', 1) : undefined,
  rssLimitMiB: envInt('SOAK_RSS_LIMIT_MIB', 300),
  gc: process.env.SOAK_GC !== '0',
  snapshots: process.env.SOAK_SNAPSHOTS === '1' || process.env.SOAK_KEEP_SNAPSHOTS === '1',
  keepSnapshots: process.env.SOAK_KEEP_SNAPSHOTS === '1',
  /**
   * Node flags for the server: those of `npm start` (unless SOAK_START_FLAGS=0, to see what they
   * change), then SOAK_NODE_ARGS (e.g. "--max-old-space-size=1024").
   */
  nodeArgs: [
    ...(process.env.SOAK_START_FLAGS === '0' ? [] : startFlags()),
    ...(process.env.SOAK_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
  ],
};
if (settings.signInConnections >= settings.connections)
  throw new Error('SOAK_SIGN_IN_CONNECTIONS must be fewer than BENCH_CONNECTIONS');
const MiB = 1024 * 1024;
const PASSWORD = 'a soak benchmark passphrase';

const cleanups = createCleanups();

// ---------------------------------------------------------------------------------------------------
// The fixture: one verified user with a session, two organizations, 20 projects in the first, and a
// personal access token that reads and writes projects.

interface Fixture {
  email: string;
  cookie: string;
  apiKey: string;
  listedOrganizationId: string;
  writtenOrganizationId: string;
}

async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json', origin: BENCH_ORIGIN }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'request'} ${url} answered ${res.status} ${text.slice(0, 300)}`);
  return { res, data: (JSON.parse(text) as { data: any }).data };
}

async function prepare(baseUrl: string, mailDir: string): Promise<Fixture> {
  const email = `soak-${randomBytes(6).toString('hex')}@example.com`;
  const signUp = await call(`${baseUrl}/api/auth/sign-up/email`, { body: { email, password: PASSWORD, name: 'Soak' } });
  const cookie = signUp.res.headers
    .getSetCookie()
    .find((c) => c.startsWith('session='))
    ?.split(';')[0];
  if (!cookie) throw new Error('sign-up set no session cookie');
  // API keys need a verified address: the link the service mailed (to files under MAIL_DIR).
  await call(`${baseUrl}/api/auth/verify-email`, { body: { token: await verificationToken(mailDir, email) } });
  const headers = { cookie };
  const organizations = (await call(`${baseUrl}/api/user/organizations`, { headers })).data as Array<{ id: string }>;
  const listedOrganizationId = organizations[0]!.id;
  const slug = `soak-writes-${randomBytes(4).toString('hex')}`;
  const writtenOrganizationId = (
    (await call(`${baseUrl}/api/user/organizations`, { headers, body: { name: 'Soak writes', slug } })).data as {
      id: string;
    }
  ).id;
  for (let i = 0; i < 20; i++) {
    await call(`${baseUrl}/api/user/organizations/${listedOrganizationId}/projects`, {
      headers,
      body: { name: `Project ${i}`, website: 'https://example.com', description: 'A project of the soak benchmark' },
    });
  }
  const key = (
    await call(`${baseUrl}/api/auth/api-key/create`, {
      headers,
      body: { name: 'soak', scopes: ['projects:read', 'projects:write'], password: PASSWORD },
    })
  ).data as { key: string };
  return { email, cookie, apiKey: key.key, listedOrganizationId, writtenOrganizationId };
}

// ---------------------------------------------------------------------------------------------------
// The mix, and what each kind of request answered.

interface Kind {
  name: string;
  expected: number[];
  statuses: Map<number, number>;
  /** The first body of each unexpected status, to show which error it was. */
  samples: Map<number, string>;
}

function mix(fixture: Fixture) {
  const kinds = new Map<string, Kind>();
  const kind = (name: string, expected = [200]): Kind => {
    const known = kinds.get(name);
    if (known) return known;
    const k: Kind = { name, expected, statuses: new Map(), samples: new Map() };
    kinds.set(name, k);
    return k;
  };
  let answered = 0;
  let unexpected = 0;
  let duringSnapshots = 0;
  const counted = (k: Kind) => (status: number, body: string) => {
    answered++;
    k.statuses.set(status, (k.statuses.get(status) ?? 0) + 1);
    if (k.expected.includes(status)) return;
    // While a heap snapshot is written the server stands still for seconds, and requests waiting for
    // a database connection time out (503): counted apart, as the snapshot's doing.
    if (Date.now() < snapshotQuiet.until) {
      duringSnapshots++;
      return;
    }
    unexpected++;
    if (!k.samples.has(status)) k.samples.set(status, body.slice(0, 200));
  };

  const listPath = `/api/user/organizations/${fixture.listedOrganizationId}/projects?limit=20`;
  const batchInput = encodeURIComponent(
    JSON.stringify({ 1: { organizationId: fixture.listedOrganizationId, limit: 5 } }),
  );
  const health = {
    method: 'GET' as const,
    path: '/api/public/health',
    onResponse: counted(kind('GET /api/public/health')),
  };
  const me = {
    method: 'GET' as const,
    path: '/api/user/me',
    headers: { cookie: fixture.cookie },
    onResponse: counted(kind('GET /api/user/me (cookie)')),
  };
  const list = {
    method: 'GET' as const,
    path: listPath,
    headers: { 'x-api-key': fixture.apiKey },
    onResponse: counted(kind('GET …/projects (X-Api-Key)')),
  };
  const trpcMe = {
    method: 'GET' as const,
    path: '/trpc/user.me.get',
    headers: { cookie: fixture.cookie },
    onResponse: counted(kind('tRPC user.me.get (cookie)')),
  };
  const trpcBatch = {
    method: 'GET' as const,
    path: `/trpc/public.health,tenant.projects.list?batch=1&input=${batchInput}`,
    headers: { cookie: fixture.cookie },
    onResponse: counted(kind('tRPC batch health + projects.list')),
  };
  let created = 0;
  const create = {
    method: 'POST' as const,
    path: `/api/user/organizations/${fixture.writtenOrganizationId}/projects`,
    headers: { 'x-api-key': fixture.apiKey, 'content-type': 'application/json' },
    // A fresh name (so the slug needs no search through siblings) and a fresh Idempotency-Key each time.
    setupRequest: (request: autocannon.Request) => {
      const n = `${randomBytes(6).toString('hex')}-${++created}`;
      return {
        ...request,
        headers: { ...request.headers, 'idempotency-key': `soak-${n}` },
        body: JSON.stringify({ name: `Soak ${n}`, description: 'Created by the soak benchmark' }),
      };
    },
    onResponse: counted(kind('POST …/projects (X-Api-Key)', [201])),
  };
  const signIn = {
    method: 'POST' as const,
    path: '/api/auth/sign-in/email',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: fixture.email, password: PASSWORD }),
    onResponse: counted(kind('POST /api/auth/sign-in/email')),
  };
  return {
    requests: [health, me, list, trpcMe, me, list, create, health, trpcBatch, me, list, trpcMe],
    signIns: [signIn],
    kinds,
    answered: () => answered,
    unexpected: () => unexpected,
    duringSnapshots: () => duringSnapshots,
  };
}

// ---------------------------------------------------------------------------------------------------
// Statistics.

/** Two-sided 95% quantiles of Student's t by degrees of freedom (beyond 30: 2.0). */
const T95 = [
  NaN,
  12.71,
  4.3,
  3.18,
  2.78,
  2.57,
  2.45,
  2.36,
  2.31,
  2.26,
  2.23,
  2.2,
  2.18,
  2.16,
  2.14,
  2.13,
  2.12,
  2.11,
  2.1,
  2.09,
  2.09,
  2.08,
  2.07,
  2.07,
  2.06,
  2.06,
  2.06,
  2.05,
  2.05,
  2.05,
  2.04,
];

export interface Trend {
  /** Least-squares slope, per minute. */
  slope: number;
  /** Half-width of its 95% confidence interval, from the residuals about the line. */
  margin: number;
  /** Standard deviation of the samples about the fitted line. */
  scatter: number;
  /** Highest minus lowest sample. */
  range: number;
}

export function trend(points: Array<{ t: number; value: number }>): Trend | undefined {
  const n = points.length;
  if (n < 3) return undefined;
  const meanT = points.reduce((s, p) => s + p.t, 0) / n;
  const meanV = points.reduce((s, p) => s + p.value, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.t - meanT) ** 2, 0);
  const slope = points.reduce((s, p) => s + (p.t - meanT) * (p.value - meanV), 0) / sxx;
  const residuals = points.reduce((s, p) => s + (p.value - (meanV + slope * (p.t - meanT))) ** 2, 0);
  const scatter = Math.sqrt(residuals / (n - 2));
  const standardError = scatter / Math.sqrt(sxx);
  const values = points.map((p) => p.value);
  return {
    slope: slope * 60,
    margin: (T95[n - 2] ?? 2.0) * standardError * 60,
    scatter,
    range: Math.max(...values) - Math.min(...values),
  };
}

// ---------------------------------------------------------------------------------------------------

interface Row {
  t: number;
  phase: 'before' | 'load' | 'after';
  memory: MemorySample;
  reqPerSec: number;
  non2xx: number;
  errors: number;
}

const mib = (bytes: number | undefined) => (bytes === undefined ? '-' : (bytes / MiB).toFixed(1));

function printRow(row: Row): void {
  const cells = [
    `${row.t.toFixed(0)}${row.phase === 'load' ? '' : ` ${row.phase}`}`,
    mib(row.memory.rss),
    mib(row.memory.heapUsed),
    mib(row.memory.liveHeap),
    mib(row.memory.liveCode),
    mib(row.memory.heapTotal),
    mib(row.memory.external),
    mib(row.memory.arrayBuffers),
    row.phase === 'load' ? row.reqPerSec.toFixed(0) : '-',
    row.phase === 'load' ? String(row.non2xx) : '-',
    row.phase === 'load' ? String(row.errors) : '-',
  ];
  console.log(cells.map((c, i) => (i === 0 ? c.padEnd(9) : c.padStart(9))).join(' '));
}

/** Until when answers other than the expected are put down to a heap snapshot (its time, and the pool's acquire timeout after it). */
const snapshotQuiet = { until: 0 };
const SNAPSHOT_AFTERMATH_MS = 10_000;

async function snapshot(
  server: Child,
  dir: string | undefined,
  name: string,
  summaries: Map<string, HeapSummary>,
): Promise<void> {
  if (!dir) return;
  const started = Date.now();
  snapshotQuiet.until = Number.POSITIVE_INFINITY;
  const taken = server.probe<{ file: string }>(
    { command: 'snapshot', file: path.join(dir, `${name}.heapsnapshot`) },
    600_000,
  );
  const { file } = await taken.finally(() => {
    snapshotQuiet.until = Date.now() + SNAPSHOT_AFTERMATH_MS;
  });
  const summary = summarizeHeapSnapshot(file);
  summaries.set(name, summary);
  console.log(
    `(heap snapshot "${name}": ${(summary.totalSize / MiB).toFixed(1)} MiB in ${summary.nodes} objects, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  if (!settings.keepSnapshots) rmSync(file, { force: true });
}

async function main(): Promise<boolean> {
  const database = process.env.DATABASE_URL ? await createBenchDatabase(process.env.DATABASE_URL) : undefined;
  if (database) cleanups.push(database.drop);
  const mailDir = mkdtempSync(path.join(os.tmpdir(), 'soak-mail-'));
  cleanups.push(async () => rmSync(mailDir, { recursive: true, force: true }));
  const snapshotDir = settings.snapshots ? mkdtempSync(path.join(os.tmpdir(), 'soak-heap-')) : undefined;
  if (snapshotDir && !settings.keepSnapshots)
    cleanups.push(async () => rmSync(snapshotDir, { recursive: true, force: true }));

  const unlimited = '1000000000';
  const server = await startChild(
    'bench/server.ts',
    {
      NODE_ENV: 'production',
      DATABASE_URL: database?.url,
      LOG_LEVEL: 'warn',
      HEALTH_CACHE_MS: '1000',
      // One client does all of this from one address: no budget may refuse it.
      RATE_LIMIT_GLOBAL_POINTS: unlimited,
      RATE_LIMIT_SIGN_IN_POINTS: unlimited,
      RATE_LIMIT_SIGN_UP_POINTS: unlimited,
      RATE_LIMIT_FAILED_SIGN_IN_POINTS: unlimited,
      RATE_LIMIT_FAILED_SIGN_IN_EMAIL_POINTS: unlimited,
      RATE_LIMIT_EMAIL_SEND_POINTS: unlimited,
      TRUSTED_ORIGINS: BENCH_ORIGIN,
      MAIL_DIR: mailDir,
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      RATE_LIMIT_PREFIX: `soak:${randomBytes(6).toString('hex')}`,
    },
    { nodeArgs: [...(settings.gc ? ['--expose-gc'] : []), ...settings.nodeArgs] },
  );
  cleanups.push(server.stop);

  console.log(
    `node ${process.version}, ${os.cpus().length} CPUs; ${settings.connections} connections (${settings.signInConnections} of them signing in) for ${settings.seconds} s, ` +
      `${settings.rate ? `${settings.rate} requests/s in all` : 'as fast as answered'}, a sample every ${settings.interval} s`,
  );
  console.log(
    `database: ${database ? `${database.name} on DATABASE_URL's cluster` : 'embedded PostgreSQL (DATA_DIR)'}; rate limiter: ${String(server.info.rateLimits)}; server pid ${server.pid}`,
  );
  console.log(
    `server: node ${[...(settings.gc ? ['--expose-gc'] : []), ...settings.nodeArgs].join(' ')} --import tsx bench/server.ts (${process.env.SOAK_START_FLAGS === '0' ? 'SOAK_START_FLAGS=0: not the flags of npm start; then ' : 'the flags of npm start, then '}SOAK_NODE_ARGS)`,
  );
  console.log(
    `heap: ${settings.gc ? '"live" is heapUsed after a forced full GC at each sample' : 'SOAK_GC=0: no forced GC, the slope is of heapUsed'}${snapshotDir ? `; heap snapshots in ${snapshotDir}` : ''}\n`,
  );

  const fixture = await prepare(server.url, mailDir);
  const load = mix(fixture);
  const summaries = new Map<string, HeapSummary>();
  const rows: Row[] = [];
  const header = [
    't (s)',
    'RSS',
    'heapUsed',
    'live',
    'code',
    'heapTotal',
    'external',
    'arrayBuf',
    'req/s',
    'non-2xx',
    'errors',
  ];
  console.log('memory in MiB');
  console.log(header.map((c, i) => (i === 0 ? c.padEnd(9) : c.padStart(9))).join(' '));

  const sample = async (
    t: number,
    phase: Row['phase'],
    counts: { answered: number; unexpected: number; errors: number; seconds: number },
  ) => {
    const memory = await server.probe<MemorySample>({ command: 'memory', gc: settings.gc });
    const row: Row = {
      t,
      phase,
      memory,
      reqPerSec: counts.seconds > 0 ? counts.answered / counts.seconds : 0,
      non2xx: counts.unexpected,
      errors: counts.errors,
    };
    rows.push(row);
    printRow(row);
  };

  await sample(0, 'before', { answered: 0, unexpected: 0, errors: 0, seconds: 0 });
  await snapshot(server, snapshotDir, 'before', summaries);

  let errors = 0;
  let errorsDuringSnapshots = 0;
  let finished = false;
  const started = Date.now();
  const instances: autocannon.Instance[] = [];
  cleanups.push(async () => {
    if (!finished) for (const instance of instances) instance.stop();
  });
  const run = (connections: number, requests: autocannon.Request[], overallRate: number | undefined) =>
    new Promise<autocannon.Result>((resolve, reject) => {
      const options = {
        url: server.url,
        connections,
        duration: settings.seconds,
        requests,
        ...(overallRate ? { overallRate } : {}),
      };
      const instance = autocannon(options, (error: unknown, done: autocannon.Result) =>
        error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done),
      );
      instance.on('reqError', () => {
        if (Date.now() < snapshotQuiet.until) errorsDuringSnapshots++;
        else errors++;
      });
      instances.push(instance);
    });
  // With SOAK_RATE, a twentieth of it signs in and the rest is the mix; without, both go as fast as answered.
  const signInRate = settings.rate ? Math.max(1, Math.round(settings.rate / 20)) : undefined;
  const mixedRate = settings.rate ? settings.rate - signInRate! : undefined;
  const result = Promise.all([
    run(settings.connections - settings.signInConnections, load.requests, mixedRate),
    run(settings.signInConnections, load.signIns, signInRate),
  ]).finally(() => {
    finished = true;
  });

  // A sample every interval while the load runs (the last one as it ends), the middle snapshot on the way.
  let last = { at: started, answered: 0, unexpected: 0, errors: 0 };
  let middleTaken = false;
  for (let k = 1; k * settings.interval <= settings.seconds; k++) {
    const due = started + k * settings.interval * 1000;
    await Promise.race([
      sleep(Math.max(0, due - Date.now())),
      result.then(
        () => undefined,
        () => undefined,
      ),
    ]);
    if (finished) break;
    const now = Date.now();
    const counts = {
      answered: load.answered() - last.answered,
      unexpected: load.unexpected() - last.unexpected,
      errors: errors - last.errors,
      seconds: (now - last.at) / 1000,
    };
    last = { at: now, answered: load.answered(), unexpected: load.unexpected(), errors };
    await sample((now - started) / 1000, 'load', counts);
    if (!middleTaken && (now - started) / 1000 >= settings.seconds / 2) {
      middleTaken = true;
      await snapshot(server, snapshotDir, 'middle', summaries);
    }
  }
  const [mixed, signIns] = await result;
  const totals = {
    requests: mixed.requests.total + signIns.requests.total,
    errors: mixed.errors + signIns.errors,
    timeouts: mixed.timeouts + signIns.timeouts,
  };
  await snapshot(server, snapshotDir, 'end of load', summaries);
  await sleep(settings.idle * 1000);
  await sample((Date.now() - started) / 1000, 'after', { answered: 0, unexpected: 0, errors: 0, seconds: 0 });
  await snapshot(server, snapshotDir, 'after', summaries);

  // What each kind of request answered.
  console.log('\nrequests by kind (status: count)');
  for (const k of load.kinds.values()) {
    const statuses = [...k.statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([s, c]) => `${s}: ${c}`)
      .join(', ');
    console.log(`  ${k.name.padEnd(36)} ${statuses}`);
    for (const [status, body] of k.samples) console.log(`    UNEXPECTED ${status}, e.g. ${body}`);
  }
  console.log(
    `  total ${totals.requests} requests, ${(totals.requests / ((Date.now() - started) / 1000 - settings.idle)).toFixed(0)} req/s on average; ${totals.errors} errors (${totals.timeouts} timeouts)${errorsDuringSnapshots ? `, ${errorsDuringSnapshots} of them during heap snapshots` : ''}`,
  );

  // Heap snapshots compared.
  const [before, middle, end, after] = ['before', 'middle', 'end of load', 'after'].map((name) => summaries.get(name));
  if (before && end) printHeapComparison('heap, before the load -> end of the load', before, end);
  if (middle && end)
    printHeapComparison(
      'heap, middle of the load -> end of the load (growth here is what a leak looks like)',
      middle,
      end,
    );
  if (before && after) printHeapComparison(`heap, before the load -> ${settings.idle} s after it`, before, after);

  // The trend over the second half of the load.
  const loadRows = rows.filter((r) => r.phase === 'load');
  const secondHalf = loadRows.filter((r) => r.t >= settings.seconds / 2);
  // What the verdict follows: the live heap less its compiled code, which goes on growing (and
  // shrinking, as the GC flushes the bytecode of functions not run lately) with the JIT's warm-up.
  const objectsOf = (r: Row) =>
    settings.gc && r.memory.liveHeap !== undefined ? r.memory.liveHeap - (r.memory.liveCode ?? 0) : r.memory.heapUsed;
  const heapTrend = trend(secondHalf.map((r) => ({ t: r.t, value: objectsOf(r) / MiB })));
  const liveTrend = settings.gc
    ? trend(secondHalf.map((r) => ({ t: r.t, value: (r.memory.liveHeap ?? 0) / MiB })))
    : undefined;
  const codeTrend = settings.gc
    ? trend(secondHalf.map((r) => ({ t: r.t, value: (r.memory.liveCode ?? 0) / MiB })))
    : undefined;
  const rssTrend = trend(secondHalf.map((r) => ({ t: r.t, value: r.memory.rss / MiB })));
  const peakRss = Math.max(...rows.map((r) => r.memory.rss)) / MiB;
  const windowMinutes = secondHalf.length > 1 ? (secondHalf.at(-1)!.t - secondHalf[0]!.t) / 60 : 0;
  const describe = (name: string, tr: Trend | undefined) =>
    tr
      ? `${name}: ${tr.slope >= 0 ? '+' : ''}${tr.slope.toFixed(2)} MiB/min (95% interval ±${tr.margin.toFixed(2)}), ` +
        `drift ${(tr.slope * windowMinutes).toFixed(2)} MiB over ${windowMinutes.toFixed(1)} min against a noise band of ±${(2 * tr.scatter).toFixed(2)} MiB ` +
        `(2 σ of the ${secondHalf.length} samples about the line), range ${tr.range.toFixed(1)} MiB`
      : `${name}: too few samples in the second half for a slope (make SOAK_SECONDS at least 6 x SOAK_INTERVAL)`;
  const first = loadRows[0];
  const served = secondHalf.reduce((sum, r) => sum + r.reqPerSec, 0) * settings.interval;
  console.log(`\nsecond half of the load (t >= ${(settings.seconds / 2).toFixed(0)} s):`);
  console.log(`  ${describe(settings.gc ? 'live objects (live heap less code)' : 'heapUsed', heapTrend)}`);
  if (heapTrend && served > 0) {
    const perRequest = (heapTrend.slope * windowMinutes * MiB) / served;
    console.log(
      `  that is ${perRequest.toFixed(0)} bytes per request served (${served.toFixed(0)} requests); a leak of anything per request (a context, a row) would be kilobytes`,
    );
  }
  if (liveTrend) console.log(`  ${describe('live heap, code included', liveTrend)}`);
  if (codeTrend) console.log(`  ${describe('code', codeTrend)}`);
  console.log(`  ${describe('RSS', rssTrend)}`);
  const peakRow = rows.reduce((a, b) => (b.memory.rss > a.memory.rss ? b : a));
  const spaces = Object.entries(peakRow.memory.spaces ?? {}).filter(([, size]) => size >= MiB);
  console.log(
    `  V8 heap at the RSS peak (t=${peakRow.t.toFixed(0)} s): ${spaces.map(([name, size]) => `${name} ${mib(size)}`).join(', ')} MiB; RSS beyond the heap ${mib(peakRow.memory.rss - peakRow.memory.heapTotal)} MiB`,
  );
  console.log(
    `  RSS: ${mib(rows[0]!.memory.rss)} MiB before the load, ${mib(first?.memory.rss)} after ${first?.t.toFixed(0)} s, peak ${peakRss.toFixed(1)} MiB, ${mib(rows.at(-1)!.memory.rss)} MiB ${settings.idle} s after it`,
  );

  // Flat: the line fitted through the second half moves the heap less, across that half, than the
  // samples scatter about it (2 σ). The 95% interval is printed too; samples next to each other are
  // correlated (the heap follows the load), so it is narrower than the truth and not the criterion.
  const drift = heapTrend ? Math.abs(heapTrend.slope) * windowMinutes : Number.NaN;
  const flat = heapTrend !== undefined && drift <= 2 * heapTrend.scatter;
  console.log(
    `\nheap (live objects) after warm-up: ${
      heapTrend === undefined
        ? 'UNKNOWN (too few samples)'
        : flat
          ? `FLAT (drift ${drift.toFixed(2)} MiB within the noise band of ±${(2 * heapTrend.scatter).toFixed(2)} MiB)`
          : `${heapTrend.slope > 0 ? 'GROWING' : 'SHRINKING'} (drift ${drift.toFixed(2)} MiB beyond the noise band of ±${(2 * heapTrend.scatter).toFixed(2)} MiB; ${heapTrend.slope.toFixed(2)} MiB/min)`
    }`,
  );
  console.log(
    `RSS under ${settings.rssLimitMiB} MiB at ${settings.connections} connections: ${peakRss < settings.rssLimitMiB ? 'MET' : 'NOT MET'} (peak ${peakRss.toFixed(1)} MiB)`,
  );

  if (snapshotDir) {
    console.log(
      `(heap snapshots were taken: each stopped the server for seconds and left RSS higher for good, so the RSS figures of this run are not the service's; ${load.duringSnapshots()} answers other than 2xx and ${errorsDuringSnapshots} errors or timeouts came while one was written or within ${SNAPSHOT_AFTERMATH_MS / 1000} s after it, and are not counted below)`,
    );
  }
  const invalid = load.unexpected() > 0 || errors > 0;
  if (invalid)
    console.log(`INVALID: ${load.unexpected()} unexpected answers and ${errors} errors or timeouts during the load`);
  return !invalid;
}

await runBenchmark('soak', cleanups, main);
