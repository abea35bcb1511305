/**
 * Benchmark helpers: child servers, a throwaway database, autocannon runs, and the report.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createScratchDatabase, type ScratchDatabase } from '../tests/support/databases.js';
import { PROBE, READY, type ChildInfo, type Probe } from './child.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A positive integer from the environment, or the default. */
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
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', path.join(root, script)], {
    cwd: root,
    env: { ...process.env, ...env },
    // stdin stays open for the child's lifetime: its closing tells the child we are gone.
    stdio: ['pipe', 'pipe', 'inherit'],
  });
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
}

export interface Measurement {
  reqPerSec: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Warms up (JIT, connection pools, caches), discards that, then measures. Latencies in ms. */
export async function measure(url: string, options: LoadOptions): Promise<Measurement> {
  const run = (duration: number) =>
    autocannon({ url, connections: options.connections, duration, headers: options.headers });
  await run(options.warmupSeconds);
  const result = await run(options.durationSeconds);
  return {
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}

export const clean = (m: Measurement) => m.errors === 0 && m.non2xx === 0;

export function printTable(rows: Array<{ label: string; m: Measurement }>): void {
  const width = Math.max(6, ...rows.map((r) => r.label.length));
  const line = (cells: string[]) =>
    console.log(cells.map((c, i) => (i === 0 ? c.padEnd(width) : c.padStart(10))).join('  '));
  line(['target', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'errors', 'non-2xx']);
  for (const { label, m } of rows) {
    line([
      label,
      m.reqPerSec.toFixed(0),
      m.p50.toFixed(2),
      m.p99.toFixed(2),
      String(m.requests),
      String(m.errors),
      String(m.non2xx),
    ]);
  }
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
