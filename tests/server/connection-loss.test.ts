/**
 * PostgreSQL connections cut in the middle of requests (pg_terminate_backend, as a failover or an
 * administrator would): the caller gets the 503 SERVICE_UNAVAILABLE envelope with Retry-After, over
 * REST and tRPC, never 500; the pool recovers without a restart; and under a storm of terminations on
 * real routes every answer is a success or a 503, and every 201 is a row that exists.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, startTestApp, type TestApp } from '../support/app.js';
import type { ScratchDatabase } from '../support/databases.js';
import { asBrowser, postJson, signUp } from '../support/identity.js';
import { defaultOrganizationId } from '../support/tenancy.js';
import { testRouter } from '../support/test-router.js';

let database: ScratchDatabase;
let t: TestApp;
let admin: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp({ router: testRouter, databaseUrl: database.url });
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await t?.close();
  await database?.drop();
});

/** Terminates the service's backends on this database whose current or last query matches `like`; returns how many. */
async function terminate(like = '%'): Promise<number> {
  const { rows } = await admin.query(
    `select pg_terminate_backend(pid) as done from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and query like $1`,
    [like],
  );
  return rows.filter((r) => r.done).length;
}

/** Waits until a backend shows `label` as its last query, i.e. the transaction is open and waiting. */
async function transactionOpen(label: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await admin.query(
      `select 1 from pg_stat_activity where datname = current_database() and state = 'idle in transaction' and query like $1`,
      [`%${label}%`],
    );
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no open transaction for ${label}`);
}

const expectUnavailable = (res: { status: number; headers: Headers; body: any }) => {
  expect(res.status, JSON.stringify(res.body)).toBe(503);
  expect(res.body).toMatchObject({ success: false, status: 503, code: 'SERVICE_UNAVAILABLE', meta: { retryAfter: 5 } });
  expect(res.headers.get('retry-after')).toBe('5');
};

describe('a connection terminated inside a transaction', () => {
  it('is 503 SERVICE_UNAVAILABLE over REST, and the next request succeeds', async () => {
    const label = `rest-${Date.now()}`;
    const pending = postJson(t, '/api/public/testing/transaction', { ms: 1500, label });
    await transactionOpen(label);
    expect(await terminate(`%${label}%`)).toBe(1);
    expectUnavailable(await pending);

    const again = await postJson(t, '/api/public/testing/transaction', { ms: 0, label: `${label}-again` });
    expect(again.status).toBe(201);
  });

  it('is SERVICE_UNAVAILABLE over tRPC', async () => {
    const label = `trpc-${Date.now()}`;
    const pending = t.request('/trpc/testing.transaction', {
      method: 'POST',
      headers: asBrowser(),
      body: JSON.stringify({ ms: 1500, label }),
    });
    await transactionOpen(label);
    expect(await terminate(`%${label}%`)).toBe(1);
    const res = await pending;
    expect(res.status).toBe(503);
    expect(res.body.error.data).toMatchObject({ code: 'SERVICE_UNAVAILABLE', httpStatus: 503 });
  });
});

describe('a storm of terminations on real routes', () => {
  it('answers only successes and 503 envelopes, and every 201 is a row', { timeout: 30_000 }, async () => {
    const user = await signUp(t);
    const organizationId = await defaultOrganizationId(t, user.userId);
    const projects = `/api/user/organizations/${organizationId}/projects`;

    let storming = true;
    const storm = (async () => {
      while (storming) {
        await terminate().catch(() => 0);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();

    const created: string[] = [];
    const answers: Array<{ status: number; body: any; headers: Headers }> = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = 0; i < 15; i++) {
          const name = `storm ${worker}-${i}`;
          const write = await postJson(t, projects, { name }, user.cookie);
          answers.push(write);
          if (write.status === 201) created.push(write.body.data.id);
          answers.push(await t.request(projects, { headers: asBrowser(user.cookie) }));
          answers.push(await t.request('/api/user/me', { headers: asBrowser(user.cookie) }));
        }
      }),
    );
    storming = false;
    await storm;
    // Once the storm ends, writes succeed again at once.
    const after = await postJson(t, projects, { name: 'after the storm' }, user.cookie);
    expect(after.status).toBe(201);
    created.push(after.body.data.id);

    const statuses = new Set(answers.map((a) => a.status));
    for (const answer of answers.filter((a) => a.status >= 500)) expectUnavailable(answer);
    expect(
      [...statuses].every((s) => s === 200 || s === 201 || s === 503),
      [...statuses].join(','),
    ).toBe(true);
    expect(statuses.has(503)).toBe(true);

    const { rows } = await admin.query<{ id: string }>('select id from projects where organization_id = $1', [
      organizationId,
    ]);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(created));
  });
});
