/**
 * Benchmark helpers: child servers, a throwaway database, autocannon runs with the server's CPU time and
 * database work, and the report. CPU time is read from /proc: Linux only.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { createScratchDatabase, type ScratchDatabase } from '../tests/support/databases.js';
import { budgetEnvName, type BudgetName } from '../server/config.js';
import { PROBE, READY, type ChildInfo, type Probe } from './child.js';

/** The repository's root folder. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A positive integer from the environment, or the default. */
/**
 * What a run must undo (databases, folders, servers), last to first, on success, on error and on Ctrl-C
 * alike; `undo(mark)` undoes only what was pushed since `size` read `mark`.
 */
export interface Cleanups {
  push(undo: () => Promise<void>): void;
  readonly size: number;
  undo(downTo?: number): Promise<void>;
}

export function createCleanups(): Cleanups {
  const undos: Array<() => Promise<void>> = [];
  let undoing = Promise.resolve();
  return {
    push: (undo) => void undos.push(undo),
    get size() {
      return undos.length;
    },
    undo: (downTo = 0) =>
      (undoing = undoing.then(async () => {
        while (undos.length > downTo)
          await undos.pop()!().catch((error: unknown) => console.error(`cleanup failed: ${String(error)}`));
      })),
  };
}

/**
 * Runs a benchmark's `main`, then its cleanups: SIGINT or SIGTERM undoes them and exits 130; a `main`
 * that answers false (an invalid run) or throws sets exit code 1.
 */
export async function runBenchmark(name: string, cleanups: Cleanups, main: () => Promise<boolean>): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the servers`);
      void cleanups.undo().finally(() => process.exit(130));
    });
  }
  try {
    if (!(await main())) process.exitCode = 1;
  } catch (error) {
    console.error(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  } finally {
    await cleanups.undo();
  }
}

export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** A new, empty database for one benchmark run. */
export function createBenchDatabase(adminUrl: string): Promise<ScratchDatabase> {
  return createScratchDatabase(adminUrl, 'bench');
}

/**
 * The full app in production mode in a child process (bench/server.ts), on a database of the run's own
 * (on DATABASE_URL's cluster, else the embedded PostgreSQL) and a mail folder of its own, with the
 * budgets named in `unlimited` (besides the global one) so high that one address is never refused.
 * What it made is undone by `cleanups`. Prints the runtime, the database and the limiter.
 */
export async function startBenchApp(
  cleanups: Cleanups,
  name: string,
  unlimited: BudgetName[],
): Promise<{ server: Child; mailDir: string }> {
  const database = process.env.DATABASE_URL ? await createBenchDatabase(process.env.DATABASE_URL) : undefined;
  if (database) cleanups.push(database.drop);
  const mailDir = mkdtempSync(path.join(os.tmpdir(), `bench-${name}-mail-`));
  cleanups.push(async () => rmSync(mailDir, { recursive: true, force: true }));
  const many = '1000000000';
  const server = await startChild('bench/server.ts', {
    NODE_ENV: 'production',
    MAIL_DIR: mailDir,
    DATABASE_URL: database?.url,
    LOG_LEVEL: 'warn',
    ...Object.fromEntries(
      (['global', ...unlimited] as BudgetName[]).map((budget) => [`RATE_LIMIT_${budgetEnvName(budget)}_POINTS`, many]),
    ),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    RATE_LIMIT_PREFIX: `bench:${randomBytes(6).toString('hex')}`,
  });
  cleanups.push(server.stop);
  console.log(
    `node ${process.version}, ${os.cpus().length} CPUs, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 4}`,
  );
  console.log(
    `database: ${database ? `${database.name} on DATABASE_URL's cluster` : 'embedded PostgreSQL (DATA_DIR)'}`,
  );
  console.log(`rate limiter: ${String(server.info.rateLimits)}`);
  return { server, mailDir };
}

export interface Child {
  url: string;
  info: ChildInfo;
  pid: number;
  /**
   * Asks the child (one that calls answerProbes, such as bench/server.ts) and resolves with its answer;
   * rejects after `timeoutMs` or when the child answers with an error.
   */
  probe<T = unknown>(probe: Probe, timeoutMs?: number): Promise<T>;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartOptions {
  startMs?: number;
  graceMs?: number;
  /** Node flags before the script (bench/soak.ts passes --expose-gc). */
  nodeArgs?: string[];
  /** The node binary that runs the child (bench/runtimes.ts); the benchmark's own by default. */
  node?: string;
}

/**
 * Runs `node --import tsx <script>` and waits for its READY line (bench/child.ts). Its other output
 * goes to our stderr so that a server's warnings stay visible without mixing into the report; its
 * answers to probes (PROBE lines) go to `probe`.
 */
export async function startChild(
  script: string,
  env: Record<string, string | undefined>,
  startOptions: StartOptions = {},
): Promise<Child> {
  const options = { startMs: 120_000, graceMs: 15_000, ...startOptions };
  const child = spawn(
    options.node ?? process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', path.join(root, script)],
    {
      cwd: root,
      env: { ...process.env, ...env },
      // stdin stays open for the child's lifetime: its closing tells the child we are gone.
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), options.graceMs);
      await exited;
      clearTimeout(force);
    })());

  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 0;
  // A child that has gone makes writes to its stdin fail; the probe's own timeout or exit reports that.
  child.stdin.on('error', () => {});
  child.once('exit', () => {
    for (const { reject } of pending.values()) reject(new Error(`${script} exited`));
    pending.clear();
  });
  const probe = <T>(request: Probe, timeoutMs = 120_000) =>
    new Promise<T>((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${script} did not answer the probe ${request.command} within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        pending.delete(id);
        fn();
      };
      pending.set(id, {
        resolve: (value) => settle(() => resolve(value as T)),
        reject: (error) => settle(() => reject(error)),
      });
      child.stdin.write(`${JSON.stringify({ id, ...request })}\n`);
    });

  const ready = new Promise<ChildInfo>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} did not start within ${options.startMs} ms`)),
      options.startMs,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before listening (${signal ?? `code ${code}`})`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(READY)) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(READY.length)) as ChildInfo);
      } else if (line.startsWith(PROBE)) {
        const answer = JSON.parse(line.slice(PROBE.length)) as { id: number; result?: unknown; error?: string };
        const waiting = pending.get(answer.id);
        if (answer.error !== undefined) waiting?.reject(new Error(answer.error));
        else waiting?.resolve(answer.result);
      } else {
        process.stderr.write(`[${script}] ${line}\n`);
      }
    });
  });
  try {
    const info = await ready;
    return { url: `http://127.0.0.1:${info.port}`, info, pid: child.pid!, probe, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One request; throws unless it answers 200 with a `success: true` envelope. Returns the raw body. */
export async function verify(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  let success: unknown;
  try {
    success = (JSON.parse(text) as { success?: unknown }).success;
  } catch {
    // not JSON: reported below
  }
  if (response.status !== 200 || success !== true) {
    throw new Error(`${url} answered ${response.status} ${text.slice(0, 300)}; expected 200 with success true`);
  }
  return text;
}

export interface LoadOptions {
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  headers?: Record<string, string>;
  /** Count the database's work during the measured window (see DatabaseCounters). */
  database?: DatabaseCounters;
}

export interface Measurement {
  reqPerSec: number;
  p50: number;
  p99: number;
  requests: number;
  /** CPU time (user + system, all threads) of the server process per request of the measured window. */
  cpuMicrosPerRequest: number;
  /**
   * With LoadOptions.database: per request of the measured window; `openConnections` > 0 when the server
   * kept connections open, whose latest counts may then be missing (see DatabaseCounters), and
   * `connectionsOpened` the connections the server opened in the window, whose start's own transaction
   * (one each) is not counted as a request's.
   */
  database?: {
    transactionsPerRequest: number;
    rowsWrittenPerRequest: number;
    rowsWritten: number;
    openConnections: number;
    connectionsOpened: number;
  };
  errors: number;
  timeouts: number;
  non2xx: number;
}

let clockTicks: number | undefined;

/** Seconds of CPU the process `pid` has used so far: utime + stime of /proc/<pid>/stat, in clock ticks. */
function cpuSeconds(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command's name (which may hold spaces) start with the state, field 3: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/**
 * Warms up (JIT, connection pools, caches), discards that, then measures `child` at `routePath`: the
 * load generator's figures (latencies in ms) and the CPU time the child spent in the measured window.
 * Ticks are 10 ms at the usual CLK_TCK of 100, so a window of a few seconds keeps that error small.
 * With `database`, the database's work in the window too, read before and after it (DatabaseCounters).
 */
export async function measure(child: Child, routePath: string, options: LoadOptions): Promise<Measurement> {
  const run = (duration: number) =>
    autocannon({
      url: `${child.url}${routePath}`,
      connections: options.connections,
      duration,
      headers: options.headers,
    });
  const { database } = options;

  await run(options.warmupSeconds);
  const before = await database?.read();
  const cpuBefore = cpuSeconds(child.pid);
  const result = await run(options.durationSeconds);
  const cpu = cpuSeconds(child.pid) - cpuBefore;
  const after = await database?.read();

  const requests = result.requests.total;
  const measurement: Measurement = {
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests,
    cpuMicrosPerRequest: (cpu * 1e6) / requests,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
  if (before && after) {
    // The database's counts are read once the server is done, so they include the requests still in
    // flight when the window closed: all those sent (a field autocannon's types leave out).
    const sent = (result.requests as { sent?: number }).sent ?? requests;
    const rowsWritten = after.rowsWritten - before.rowsWritten;
    // The server's pool closed its idle connections while `read` waited, so it opens them again in the
    // window; PostgreSQL counts a transaction for each connection's start, which no request asked for.
    const connectionsOpened = after.sessions - before.sessions;
    measurement.database = {
      transactionsPerRequest: (after.transactions - before.transactions - connectionsOpened) / sent,
      rowsWrittenPerRequest: rowsWritten / sent,
      rowsWritten,
      openConnections: Math.max(before.openConnections, after.openConnections),
      connectionsOpened,
    };
  }
  return measurement;
}

export const clean = (m: Measurement) => m.errors === 0 && m.non2xx === 0;

/** What PostgreSQL has counted for one database so far. */
export interface DatabaseCount {
  /** xact_commit + xact_rollback: a statement outside a transaction is one, so about one a round trip. */
  transactions: number;
  /** tup_inserted + tup_updated + tup_deleted. */
  rowsWritten: number;
  /** Connections ever opened to the database (PostgreSQL 14 and later). */
  sessions: number;
  /** Connections to the database still open when it was read: their latest counts may be missing. */
  openConnections: number;
}

export interface DatabaseCounters {
  /**
   * The counters once the server has closed its idle connections to the database, or after
   * CONNECTIONS_CLOSED_MS. A backend (PostgreSQL 15 and later) adds its counts to pg_stat_database at the
   * end of a transaction only when its last flush is more than a second old, and only if no other backend
   * holds the lock just then; one that goes idle keeps what it has pending (PostgreSQL 15.20 here: still
   * after 50 s), and pg_stat_force_next_flush() reaches only the caller's own backend. A backend that
   * exits flushes everything, so waiting for the server's pool to close its idle connections (after 10 s
   * for pg's, 30 s for the app's) makes the counts exact: the raw-pg floor reads 1.00 transactions a
   * request. Pausing a second and sending a few more requests instead left the floor's between 0.97
   * and 1.12.
   */
  read(): Promise<DatabaseCount>;
  close(): Promise<void>;
}

/** How long DatabaseCounters.read waits for the server's connections to close. */
const CONNECTIONS_CLOSED_MS = 60_000;

/** pg_stat_database's counters of the database `name`, read over a connection to another one (`adminUrl`). */
export async function databaseCounters(adminUrl: string, name: string): Promise<DatabaseCounters> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const openConnections = async () => {
    const { rows } = await client.query<{ open: number }>(
      `select count(*)::int as open from pg_stat_activity where datname = $1 and backend_type = 'client backend'`,
      [name],
    );
    return rows[0]?.open ?? 0;
  };
  return {
    async read() {
      const deadline = Date.now() + CONNECTIONS_CLOSED_MS;
      let open = await openConnections();
      while (open > 0 && Date.now() < deadline) {
        await sleep(250);
        open = await openConnections();
      }
      const { rows } = await client.query<{ transactions: string; written: string; sessions: string }>(
        `select xact_commit + xact_rollback as transactions, tup_inserted + tup_updated + tup_deleted as written,
                sessions
           from pg_stat_database where datname = $1`,
        [name],
      );
      if (!rows[0]) throw new Error(`no pg_stat_database row for ${name}`);
      return {
        transactions: Number(rows[0].transactions),
        rowsWritten: Number(rows[0].written),
        sessions: Number(rows[0].sessions),
        openConnections: open,
      };
    },
    close: () => client.end(),
  };
}

/** One measured server on one target. */
export interface Row {
  target: string;
  server: string;
  m: Measurement;
}

/** The measurements as a table, a heading for each target and a line for each server measured on it. */
export function printTable(rows: Row[]): void {
  const width = Math.max(8, ...rows.map((r) => r.server.length + 2));
  const line = (cells: string[]) =>
    console.log(cells.map((c, i) => (i === 0 ? c.padEnd(width) : c.padStart(10))).join('  '));
  line(['', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'requests', 'errors', 'non-2xx']);
  rows.forEach(({ target, server, m }, i) => {
    if (target !== rows[i - 1]?.target) console.log(target);
    line([
      `  ${server}`,
      m.reqPerSec.toFixed(0),
      m.p50.toFixed(2),
      m.p99.toFixed(2),
      m.cpuMicrosPerRequest.toFixed(0),
      String(m.requests),
      String(m.errors),
      String(m.non2xx),
    ]);
  });
}

/**
 * The token of the verification link the service mailed to `email`, read from its MAIL_DIR files
 * (a benchmark's user must verify its address before it may create an API key).
 */
export async function verificationToken(mailDir: string, email: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    for (const file of readdirSync(mailDir).filter((name) => name.endsWith('.eml'))) {
      const text = readFileSync(path.join(mailDir, file), 'utf8');
      if (!text.includes(email)) continue;
      const token = /verify-email\?token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
      if (token) return token;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no verification mail for ${email} in ${mailDir}`);
}
