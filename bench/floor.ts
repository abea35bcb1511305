/**
 * The database floor: Express 5 with one handler that runs the same page query as
 * GET /api/user/organizations/{organizationId}/projects on PostgreSQL (raw pg, a named prepared
 * statement, no auth, no limiter) and returns its rows. What the full stack adds on top of the data it
 * must read is measured against this.
 */
import express from 'express';
import pg from 'pg';
import { serveBaseline } from './child.js';

const organizationId = process.env.FLOOR_ORGANIZATION_ID ?? '';
const pool = new pg.Pool({ connectionString: process.env.FLOOR_DATABASE_URL, max: 10 });

const app = express();
app.get(process.env.BARE_PATH ?? '/', async (_req, res) => {
  const { rows } = await pool.query({
    name: 'floor_projects',
    text: `select p.id, p.name, p.slug, p.website, p.description, p.status, p.publishable_key, p.created_by_user_id,
                  p.created_at, p.updated_at, u.full_name as creator_name, count(*) over () as total
             from projects p left join users u on u.id = p.created_by_user_id
            where p.organization_id = $1 order by p.created_at desc, p.id desc offset 0 limit 20`,
    values: [organizationId],
  });
  res.json({ success: true, status: 200, code: 'OK', message: 'Items fetched successfully', data: rows, meta: {} });
});
await serveBaseline(app, () => pool.end());
