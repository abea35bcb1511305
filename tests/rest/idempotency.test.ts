/** Idempotency-Key on REST POSTs: replays, reuse, concurrency, two instances, and what is not kept. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectSchema } from '../../entities/project.js';
import { createTestDatabase, startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, signUp } from '../support/identity.js';
import { addMember, defaultOrganizationId } from '../support/tenancy.js';
import { testRouter } from '../support/test-router.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  database = await createTestDatabase();
  const env = {
    TRUST_PROXY: 'loopback',
    RATE_LIMIT_SIGN_UP_POINTS: '100',
    RATE_LIMIT_PREFIX: `idem:${randomBytes(4).toString('hex')}`,
  };
  a = await startTestApp({ router: testRouter, env, databaseUrl: database.url });
  b = await startTestApp({ router: testRouter, env, databaseUrl: database.url });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
});

const key = () => `key-${randomBytes(8).toString('hex')}`;
const post = (t: TestApp, path: string, body: unknown, headers: Record<string, string>) =>
  t.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('Idempotency-Key', () => {
  it('replays the first answer, byte for byte, and creates one resource', async () => {
    const user = await signUp(a);
    const organizationId = await defaultOrganizationId(a, user.userId);
    const path = `/api/user/organizations/${organizationId}/projects`;
    const headers = { ...asBrowser(user.cookie), 'idempotency-key': key() };
    const first = await post(a, path, { name: 'Only once' }, headers);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await post(a, path, { name: 'Only once' }, headers);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const fromB = await post(b, path, { name: 'Only once' }, headers);
    expect(fromB.headers.get('idempotent-replayed')).toBe('true');
    expect(fromB.body).toEqual(first.body);
    expect(await a.services.orm.em.fork().count(ProjectSchema, { organizationId, name: 'Only once' })).toBe(1);
  });

  it('refuses the same key with another body', async () => {
    const headers = { 'idempotency-key': key() };
    expect((await post(a, '/api/public/testing/echo', { name: 'A', count: 1 }, headers)).status).toBe(201);
    const reused = await post(a, '/api/public/testing/echo', { name: 'B', count: 1 }, headers);
    expect(reused.body).toMatchObject({ status: 409, code: 'IDEMPOTENCY_KEY_REUSED', data: null });
  });

  it('lets one of two concurrent requests run; the other is told it is in use', async () => {
    const headers = { 'idempotency-key': key() };
    const [one, two] = await Promise.all([
      post(a, '/api/public/testing/slow-create', { ms: 400, label: 'x' }, headers),
      new Promise((resolve) => setTimeout(resolve, 100)).then(() =>
        post(b, '/api/public/testing/slow-create', { ms: 400, label: 'x' }, headers),
      ),
    ]);
    expect(one.status).toBe(201);
    expect(two.body).toMatchObject({ status: 409, code: 'IDEMPOTENCY_KEY_IN_USE' });
    const after = await post(b, '/api/public/testing/slow-create', { ms: 400, label: 'x' }, headers);
    expect(after.body).toEqual(one.body);
  });

  it('keeps keys apart per principal', async () => {
    const k = key();
    const first = await signUp(a);
    const second = await signUp(a);
    const one = await post(
      a,
      '/api/user/organizations',
      { name: 'Mine' },
      { ...asBrowser(first.cookie), 'idempotency-key': k },
    );
    const two = await post(
      a,
      '/api/user/organizations',
      { name: 'Mine' },
      { ...asBrowser(second.cookie), 'idempotency-key': k },
    );
    expect(one.status).toBe(201);
    expect(two.status).toBe(201);
    expect(two.headers.get('idempotent-replayed')).toBeNull();
    expect(two.body.data.id).not.toBe(one.body.data.id);
  });

  it('does not keep a 500, and refuses a key over 255 characters', async () => {
    const headers = { 'idempotency-key': key() };
    expect((await post(a, '/api/public/testing/boom', {}, headers)).status).toBe(500);
    const retry = await post(a, '/api/public/testing/boom', {}, headers);
    expect(retry.status).toBe(500);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const long = await post(
      a,
      '/api/public/testing/echo',
      { name: 'A', count: 1 },
      { 'idempotency-key': 'k'.repeat(256) },
    );
    expect(long.body).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
  });
});

describe('Idempotency-Key on a response with a secret', () => {
  it('never stores nor shows a new API key twice', async () => {
    const user = await signUp(a);
    const headers = { ...asBrowser(user.cookie), 'idempotency-key': key() };
    const first = await post(a, '/api/auth/api-key/create', { name: 'once', scopes: ['user:read'] }, headers);
    expect(first.status).toBe(200);
    const secret: string = first.body.data.key;
    const retry = await post(a, '/api/auth/api-key/create', { name: 'once', scopes: ['user:read'] }, headers);
    expect(retry.body).toMatchObject({ status: 409, code: 'IDEMPOTENCY_KEY_REUSED', data: null });
    expect(JSON.stringify(retry.body)).not.toContain(secret);
    const rows = await a.services.orm.em
      .fork()
      .getConnection()
      .execute<{ body: string }[]>('select body from idempotency_keys');
    expect(rows.some((r) => r.body.includes(secret))).toBe(false);
    expect((await a.request('/api/auth/api-key/list', { headers: asBrowser(user.cookie) })).body.meta.total).toBe(1);
  });
});

/**
 * Only what the procedure's logic answered is kept: a refusal decided before it ran (a spent budget,
 * a missing credential, a tenancy check, input that fails its schema) releases the key, so that a
 * retry is judged afresh instead of being told the refusal again.
 */
describe('Idempotency-Key after a refusal', () => {
  const GLOBAL_POINTS = 4;
  let r: TestApp;
  let clients = 0;
  /** A client address of its own per use, so that budgets do not meet. */
  const nextClient = () => `203.0.113.${++clients}`;
  beforeAll(async () => {
    r = await startTestApp({
      router: testRouter,
      env: { TRUST_PROXY: 'loopback', RATE_LIMIT_GLOBAL_POINTS: String(GLOBAL_POINTS), RATE_LIMIT_SIGN_UP_POINTS: '3' },
    });
  });
  afterAll(async () => {
    await r?.close();
  });

  it('does not keep a 429 from the global budget: with budget again, the same key runs for real', async () => {
    const user = await signUp(r, { ip: nextClient() });
    const spent = nextClient();
    for (let i = 0; i < GLOBAL_POINTS; i++)
      await r.request('/api/public/health', { headers: { 'x-forwarded-for': spent } });
    const headers = { ...asBrowser(user.cookie), 'idempotency-key': key() };
    const refused = await post(
      r,
      '/api/user/organizations',
      { name: 'Refused first' },
      { ...headers, 'x-forwarded-for': spent },
    );
    expect(refused.status).toBe(429);
    const retry = await post(
      r,
      '/api/user/organizations',
      { name: 'Refused first' },
      { ...headers, 'x-forwarded-for': nextClient() },
    );
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const again = await post(
      r,
      '/api/user/organizations',
      { name: 'Refused first' },
      { ...headers, 'x-forwarded-for': nextClient() },
    );
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(retry.body);
  });

  it('does not keep a 429 from a procedure’s own budget', async () => {
    const user = await signUp(r, { ip: nextClient() });
    const spent = nextClient();
    // testing.limited spends the signUp budget (3 a minute per client) besides the global one.
    for (let i = 0; i < 3; i++)
      expect((await post(r, '/api/public/testing/limited', {}, { 'x-forwarded-for': spent })).status).toBe(200);
    const headers = { ...asBrowser(user.cookie), 'idempotency-key': key() };
    expect((await post(r, '/api/public/testing/limited', {}, { ...headers, 'x-forwarded-for': spent })).status).toBe(
      429,
    );
    const retry = await post(r, '/api/public/testing/limited', {}, { ...headers, 'x-forwarded-for': nextClient() });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
  });

  it('does not keep a 401: the same key with the credential runs for real', async () => {
    const user = await signUp(r, { ip: nextClient() });
    const k = key();
    const anonymous = await post(
      r,
      '/api/user/organizations',
      { name: 'After sign-in' },
      { 'idempotency-key': k, 'x-forwarded-for': nextClient() },
    );
    expect(anonymous.status).toBe(401);
    const signedIn = await post(
      r,
      '/api/user/organizations',
      { name: 'After sign-in' },
      { ...asBrowser(user.cookie), 'idempotency-key': k, 'x-forwarded-for': nextClient() },
    );
    expect(signedIn.status).toBe(201);
    expect(signedIn.headers.get('idempotent-replayed')).toBeNull();
  });

  it('does not keep a tenancy refusal: once a member, the same key runs for real', async () => {
    const owner = await signUp(r, { ip: nextClient() });
    const joiner = await signUp(r, { ip: nextClient() });
    const organizationId = await defaultOrganizationId(r, owner.userId);
    const path = `/api/user/organizations/${organizationId}/projects`;
    const headers = { ...asBrowser(joiner.cookie), 'idempotency-key': key() };
    expect(
      (await post(r, path, { name: 'Joined later' }, { ...headers, 'x-forwarded-for': nextClient() })).body,
    ).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    await addMember(r, organizationId, joiner.userId, 'member');
    const retry = await post(r, path, { name: 'Joined later' }, { ...headers, 'x-forwarded-for': nextClient() });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
  });

  it('does not keep a VALIDATION_ERROR: the key may carry the corrected request', async () => {
    const headers = { 'idempotency-key': key(), 'x-forwarded-for': nextClient() };
    expect((await post(r, '/api/public/testing/echo', { name: '', count: 1 }, headers)).body).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    const corrected = await post(
      r,
      '/api/public/testing/echo',
      { name: 'Ada', count: 1 },
      { ...headers, 'x-forwarded-for': nextClient() },
    );
    expect(corrected.status).toBe(201);
  });

  it('still keeps an error the logic threw', async () => {
    const user = await signUp(r, { ip: nextClient() });
    const other = await signUp(r, { ip: nextClient() });
    const organizationId = await defaultOrganizationId(r, user.userId);
    // Inviting an existing member is refused by the procedure itself: a retry is told the same.
    await addMember(r, organizationId, other.userId, 'member');
    const headers = { ...asBrowser(user.cookie), 'idempotency-key': key() };
    const first = await post(
      r,
      `/api/user/organizations/${organizationId}/invites`,
      { email: other.email },
      { ...headers, 'x-forwarded-for': nextClient() },
    );
    expect(first.status).toBeGreaterThanOrEqual(400);
    expect(first.status).toBeLessThan(500);
    const again = await post(
      r,
      `/api/user/organizations/${organizationId}/invites`,
      { email: other.email },
      { ...headers, 'x-forwarded-for': nextClient() },
    );
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
  });
});

describe('Idempotency-Key when the answer is lost', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query('create table if not exists testing_rows (label text not null)');
  });
  afterAll(async () => {
    await admin?.end();
  });
  const rows = async (label: string) =>
    (await admin.query('select 1 from testing_rows where label = $1', [label])).rowCount;

  it('a retry after a 503 that followed the commit does not write twice', async () => {
    const label = `lost-${randomBytes(4).toString('hex')}`;
    const headers = { 'idempotency-key': key() };
    const first = await post(a, '/api/public/testing/commit-then-fail', { label }, headers);
    expect(first.body).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    expect(await rows(label)).toBe(1);

    for (const t of [a, b]) {
      const retry = await post(t, '/api/public/testing/commit-then-fail', { label }, headers);
      expect(retry.body).toMatchObject({
        status: 409,
        code: 'IDEMPOTENCY_KEY_REUSED',
        message: expect.stringContaining('already made its change'),
      });
    }
    expect(await rows(label)).toBe(1);
  });

  it('a retry after a 503 before the commit runs the request again, once', async () => {
    const label = `cut-${randomBytes(4).toString('hex')}`;
    const headers = { 'idempotency-key': key() };
    const pending = post(a, '/api/public/testing/transaction', { ms: 1500, label }, headers);
    for (let i = 0; i < 100; i++) {
      const { rows: open } = await admin.query(
        `select pid from pg_stat_activity where datname = current_database() and state = 'idle in transaction' and query like $1`,
        [`%${label}%`],
      );
      if (open.length > 0) {
        await admin.query('select pg_terminate_backend($1)', [open[0].pid]);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await pending).body).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    const retry = await post(b, '/api/public/testing/transaction', { ms: 0, label }, headers);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const replay = await post(a, '/api/public/testing/transaction', { ms: 0, label }, headers);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });

  it('a claim its request left behind is taken over after the lease, and the late request cannot commit', async () => {
    const label = `stale-${randomBytes(4).toString('hex')}`;
    const headers = { 'idempotency-key': key() };
    // The first request holds its transaction open past the lease; the row it would write never appears.
    const slow = post(a, '/api/public/testing/commit-slowly', { label, ms: 1200 }, headers);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await post(b, '/api/public/testing/commit-slowly', { label, ms: 1200 }, headers)).body).toMatchObject({
      code: 'IDEMPOTENCY_KEY_IN_USE',
    });
    // Age the claim past the lease, as if its request had died.
    await admin.query(`update idempotency_keys set created_at = created_at - interval '1 hour' where key = $1`, [
      headers['idempotency-key'],
    ]);
    const takeover = await post(b, '/api/public/testing/commit-slowly', { label, ms: 1200 }, headers);
    expect(takeover.status).toBe(201);
    expect((await slow).body).toMatchObject({
      status: 409,
      code: 'IDEMPOTENCY_KEY_IN_USE',
      message: expect.stringContaining('took over'),
    });
    expect(await rows(label)).toBe(1);
  });
});
