/**
 * The baseline: Express 5 with a single handler and no middleware, answering BARE_PATH with the
 * body the full app gave (BARE_BODY), serialised per request as the full app does. Its own process
 * too, so that both servers are measured under the same conditions.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { announce, stopOn } from './child.js';

const path = process.env.BARE_PATH ?? '/';
const body: unknown = JSON.parse(process.env.BARE_BODY ?? 'null');

const app = express();
app.get(path, (_req, res) => {
  res.json(body);
});
const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
stopOn(async () => {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
});
announce({ port: (server.address() as AddressInfo).port });
