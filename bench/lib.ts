/**
 * Benchmark helpers: child servers, a throwaway database, autocannon runs, and the report.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createScratchDatabase, type ScratchDatabase } from '../tests/support/databases.js';
import { READY, type ChildInfo } from './child.js';

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
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Runs `node --import tsx <script>` and waits for its READY line (bench/child.ts). Its other output
 * goes to our stderr so that a server's warnings stay visible without mixing into the report.
 */
export async function startChild(script: string, env: Record<string, string | undefined>, options = { startMs: 120_000, graceMs: 15_000 }): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, script)], {
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

  const ready = new Promise<ChildInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${options.startMs} ms`)), options.startMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before listening (${signal ?? `code ${code}`})`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(READY)) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(READY.length)) as ChildInfo);
      } else {
        process.stderr.write(`[${script}] ${line}\n`);
      }
    });
  });
  try {
    const info = await ready;
    return { url: `http://127.0.0.1:${info.port}`, info, stop };
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
  const run = (duration: number) => autocannon({ url, connections: options.connections, duration, headers: options.headers });
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
  const line = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(width) : c.padStart(10))).join('  '));
  line(['target', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'errors', 'non-2xx']);
  for (const { label, m } of rows) {
    line([label, m.reqPerSec.toFixed(0), m.p50.toFixed(2), m.p99.toFixed(2), String(m.requests), String(m.errors), String(m.non2xx)]);
  }
}
