/**
 * The child side of bench/lib.ts startChild: a server announces its port in one stdout line (its
 * logs share stdout, hence the marker), and stops on SIGTERM, SIGINT, or when the benchmark goes
 * away without a word (its end of our stdin closes), so that no server outlives a run.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export const READY = 'BENCH_READY ';

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

/** Listens on a free loopback port, stops on the signals above (then `cleanup`), and announces the port. */
export async function serveBaseline(app: Express, cleanup: () => Promise<void> = async () => {}): Promise<void> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  stopOn(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await cleanup();
  });
  announce({ port: (server.address() as AddressInfo).port });
}
