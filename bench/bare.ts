/**
 * The baseline: Express 5 with a single handler and no middleware, answering BARE_PATH with the
 * body the full app gave (BARE_BODY), serialised per request as the full app does. Its own process
 * too, so that both servers are measured under the same conditions.
 */
import express from 'express';
import { serveBaseline } from './child.js';

const path = process.env.BARE_PATH ?? '/';
const body: unknown = JSON.parse(process.env.BARE_BODY ?? 'null');

const app = express();
app.get(path, (_req, res) => {
  res.json(body);
});
await serveBaseline(app);
