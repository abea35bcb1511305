/**
 * The child side of bench/lib.ts startChild: a server announces its port in one stdout line (its
 * logs share stdout, hence the marker), and stops on SIGTERM, SIGINT, or when the benchmark goes
 * away without a word (its end of our stdin closes), so that no server outlives a run.
 */
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import v8 from 'node:v8';
import { startProfiling } from './profile.js';

export const READY = 'BENCH_READY ';
/** Marks a child's answer to a probe (answerProbes); the benchmark's request is one JSON line on the child's stdin. */
export const PROBE = 'BENCH_PROBE ';

export interface ChildInfo {
  port: number;
  [key: string]: unknown;
}

export function announce(info: ChildInfo): void {
  process.stdout.write(`${READY}${JSON.stringify(info)}\n`);
}

export function stopOn(stop: () => Promise<void>): void {
  let stopping = false;
  const run = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', run);
  process.once('SIGINT', run);
  process.stdin.on('end', run).on('error', run).resume();
}

/**
 * Serves a floor (bench/bare.ts and the others: an Express app or a bare node:http handler, both request
 * listeners of a node:http server) on a free loopback port, stops on the signals above (then `cleanup`), and
 * announces the port.
 */
export async function serveBaseline(
  handler: RequestListener,
  cleanup: () => Promise<void> = async () => {},
): Promise<void> {
  const server = createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  stopOn(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await cleanup();
  });
  announce({ port: (server.address() as AddressInfo).port });
}

/** What a child reports of its own memory, in bytes (process.memoryUsage() and, when it can collect, after a full GC). */
export interface MemorySample {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** heapUsed right after a full garbage collection: what is retained. Absent without --expose-gc. */
  liveHeap?: number;
  /**
   * The part of liveHeap that is compiled code: the code spaces, and the trusted spaces where newer V8
   * (Node 22 and later) keeps bytecode. It grows as the JIT warms up, whatever the process retains.
   */
  liveCode?: number;
  /** What each V8 heap space has taken from the system (space_size), before the collection. */
  spaces: Record<string, number>;
}

export type Probe =
  | { command: 'memory'; gc?: boolean }
  | { command: 'snapshot'; file: string }
  | { command: 'profile-start' }
  | { command: 'profile-stop' };

/**
 * Answers the benchmark's probes (bench/lib.ts Child.probe): each stdin line is `{"id":n,"command":…}`,
 * each answer one stdout line `BENCH_PROBE {"id":n,"result":…}` (or `"error"`).
 * - `memory`: process.memoryUsage() as it is, then, with `gc` and --expose-gc, heapUsed after a full GC.
 * - `snapshot`: a full GC and a heap snapshot (v8.writeHeapSnapshot) to `file`, which must lie under the
 *   system's temporary folder: a snapshot never lands in the repository.
 * - `profile-start`, `profile-stop`: a CPU profile of the process in between, answered as the share of
 *   its busy time each part of the stack took (bench/profile.ts).
 */
export function answerProbes(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  let profiling: Awaited<ReturnType<typeof startProfiling>> | undefined;
  const run = async (probe: Probe): Promise<unknown> => {
    if (probe.command === 'memory') {
      const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
      const spaces = Object.fromEntries(
        v8.getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]),
      );
      const sample: MemorySample = { rss, heapTotal, heapUsed, external, arrayBuffers, spaces };
      if (probe.gc && gc) {
        gc();
        const after = v8.getHeapSpaceStatistics();
        sample.liveHeap = after.reduce((sum, space) => sum + space.space_used_size, 0);
        sample.liveCode = after
          .filter((space) => /code|trusted/.test(space.space_name))
          .reduce((sum, space) => sum + space.space_used_size, 0);
      }
      return sample;
    }
    if (probe.command === 'snapshot') {
      const file = path.resolve(probe.file);
      if (!file.startsWith(`${path.resolve(os.tmpdir())}${path.sep}`))
        throw new Error(`snapshots go under ${os.tmpdir()}, not ${file}`);
      gc?.();
      return { file: v8.writeHeapSnapshot(file) };
    }
    if (probe.command === 'profile-start') {
      if (profiling) throw new Error('already profiling');
      profiling = await startProfiling();
      return {};
    }
    if (probe.command === 'profile-stop') {
      if (!profiling) throw new Error('not profiling');
      const shares = await profiling.stop();
      profiling = undefined;
      return shares;
    }
    throw new Error(`unknown probe ${JSON.stringify(probe)}`);
  };
  createInterface({ input: process.stdin }).on('line', async (line) => {
    let id: unknown;
    try {
      const request = JSON.parse(line) as Probe & { id: unknown };
      id = request.id;
      process.stdout.write(`${PROBE}${JSON.stringify({ id, result: await run(request) })}\n`);
    } catch (error) {
      process.stdout.write(`${PROBE}${JSON.stringify({ id, error: String(error) })}\n`);
    }
  });
}
