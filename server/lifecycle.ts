/**
 * Listening and graceful shutdown: stop accepting, let in-flight requests finish (cutting those
 * still running after SHUTDOWN_TIMEOUT_MS), then close PostgreSQL and Redis.
 *
 * - Once the drain starts, every answer still to be written says `Connection: close`, so that a
 *   keep-alive client sends its next request elsewhere instead of onto a socket about to close; a
 *   connection is closed as soon as its current answer is out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from './app.js';

export interface Serving {
  server: Server;
  port: number;
  shutdown(): Promise<void>;
}

export async function serve(app: App, options: { port: number; host?: string }): Promise<Serving> {
  const server = createServer(app.listener).listen(options.port, options.host ?? '0.0.0.0');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });

  // The answers not yet finished, so that the drain can tell each to close its connection.
  const unfinished = new Set<ServerResponse>();
  let draining = false;
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (draining) return void res.setHeader('Connection', 'close');
    unfinished.add(res);
    res.once('close', () => unfinished.delete(res));
  });

  let stopping: Promise<void> | undefined;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    shutdown() {
      stopping ??= (async () => {
        draining = true;
        for (const res of unfinished) if (!res.headersSent) res.setHeader('Connection', 'close');
        unfinished.clear();
        const force = setTimeout(() => server.closeAllConnections(), app.services.config.shutdownTimeoutMs);
        force.unref();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive connections hold close() open; drop each as soon as its last response is out.
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        await closed;
        clearInterval(sweep);
        clearTimeout(force);
        await app.close();
      })();
      return stopping;
    },
  };
}
