/**
 * The floor of POST /api/public/track: Express 5 with one JSON handler that stores the batch with the
 * very statement the service runs (procedures/public/events/store-events.ts INSERT_EVENTS: the events
 * and their rollup marks) on raw pg, as a named prepared statement, and answers 202 {accepted}. No key
 * format check, budget, validation or envelope beyond that; the key's project is found by the statement, as
 * in the service.
 */
import express from 'express';
import pg from 'pg';
import { INSERT_EVENTS } from '../procedures/public/events/store-events.js';
import { eventAllowanceValues } from '../procedures/shared/entitlements.js';
import { planCatalogue } from '../server/plans.js';
import { serveBaseline } from './child.js';

const key = process.env.FLOOR_PUBLISHABLE_KEY ?? '';
const pool = new pg.Pool({ connectionString: process.env.FLOOR_DATABASE_URL, max: 10 });
// The service's plan catalogue (BILLING_PLANS), for the monthly allowance the statement checks.
const billing = { tiers: planCatalogue(process.env, []), graceDays: 7, stripe: undefined };

interface Event {
  name: string;
  anonymousId: string;
  timestamp?: string;
  properties?: Record<string, unknown>;
}

const app = express();
app.use(express.json({ limit: '10mb' }));
app.post('/track', async (req, res) => {
  const events = (req.body as { events: Event[] }).events;
  const now = new Date().toISOString();
  const { rows } = await pool.query<{ accepted: number }>({
    name: 'floor_track',
    text: INSERT_EVENTS,
    values: [
      key,
      null,
      events.map((e) => e.name),
      events.map((e) => e.anonymousId),
      events.map((e) => e.timestamp ?? now),
      events.map((e) => (e.properties === undefined ? null : JSON.stringify(e.properties))),
      ...eventAllowanceValues({ billing }, new Date()),
    ],
  });
  res.status(202).json({ success: true, status: 202, code: 'OK', message: 'Events accepted', data: rows[0], meta: {} });
});
await serveBaseline(app, () => pool.end());
