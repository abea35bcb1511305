/** Credential and membership checks cost no database round trip once cached, and every change still bites at once. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisUrl, startTestApp, type TestApp } from '../support/app.js';
import { createApiKey } from '../support/api-keys.js';
import { asBrowser, postJson, signUp } from '../support/identity.js';
import { addMember, defaultOrganizationId } from '../support/tenancy.js';

/** Every statement sent to PostgreSQL from now on (counted where pg sends it, whoever builds it). */
function countQueries() {
  const seen: string[] = [];
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, config: unknown, ...rest: unknown[]) {
    seen.push(typeof config === 'string' ? config : String((config as { text?: string }).text));
    return (query as (...args: unknown[]) => unknown).call(this, config, ...rest);
  } as typeof query;
  afterAll(() => {
    pg.Client.prototype.query = query;
  });
  return seen;
}
const queries = countQueries();

describe('the session cache', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRUST_PROXY: 'loopback' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves GET /api/user/me with one database round trip once the session is cached', async () => {
    const user = await signUp(t);
    queries.length = 0;
    expect((await t.request('/api/user/me', { headers: asBrowser(user.cookie) })).status).toBe(200);
    expect(queries.filter((q) => q.includes('from sessions'))).toHaveLength(1);
    queries.length = 0;
    for (let i = 0; i < 3; i++)
      expect((await t.request('/api/user/me', { headers: asBrowser(user.cookie) })).status).toBe(200);
    expect(queries.filter((q) => q.includes('sessions'))).toEqual([]);
    expect(queries).toHaveLength(3);
  });

  it('forgets a session at sign-out, a password change and an email verification', async () => {
    const user = await signUp(t);
    const other = await postJson(
      t,
      '/api/auth/sign-in/email',
      { email: user.email, password: user.password },
      undefined,
      { 'x-forwarded-for': '192.0.2.90' },
    );
    const otherCookie = other.headers.getSetCookie()[0]!.split(';')[0]!;
    for (const cookie of [user.cookie, otherCookie])
      expect((await t.request('/api/user/me', { headers: asBrowser(cookie) })).status).toBe(200);

    await postJson(
      t,
      '/api/auth/change-password',
      { currentPassword: user.password, newPassword: 'another fine passphrase' },
      user.cookie,
    );
    expect((await t.request('/api/user/me', { headers: asBrowser(otherCookie) })).body.code).toBe(
      'INVALID_OR_EXPIRED_TOKEN',
    );
    expect((await t.request('/api/user/me', { headers: asBrowser(user.cookie) })).status).toBe(200);

    await postJson(t, '/api/auth/sign-out', {}, user.cookie);
    expect((await t.request('/api/user/me', { headers: asBrowser(user.cookie) })).body.code).toBe(
      'INVALID_OR_EXPIRED_TOKEN',
    );
  });
});

describe('cached API keys and memberships', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '100' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('drop a pinned key the moment its organization is deleted', async () => {
    const owner = await signUp(t);
    const organizationId = await defaultOrganizationId(t, owner.userId);
    const apiKey = await createApiKey(t, { userId: owner.userId, organizationId });
    const headers = { 'x-api-key': apiKey };
    expect((await t.request('/api/user/me', { headers })).status).toBe(200);
    expect((await t.request(`/api/user/organizations/${organizationId}/projects`, { headers })).status).toBe(200);
    const slug = (await t.request(`/api/user/organizations/${organizationId}`, { headers })).body.data.slug;
    const deleted = await t.request(`/api/user/organizations/${organizationId}`, {
      method: 'DELETE',
      headers: asBrowser(owner.cookie),
      body: JSON.stringify({ confirm: slug }),
    });
    expect(deleted.status).toBe(200);
    expect((await t.request('/api/user/me', { headers })).body.code).toBe('INVALID_API_KEY');
  });

  it('apply a role change on the next call', async () => {
    const owner = await signUp(t);
    const admin = await signUp(t);
    const organizationId = await defaultOrganizationId(t, owner.userId);
    const memberId = await addMember(t, organizationId, admin.userId, 'admin');
    const base = `/api/user/organizations/${organizationId}`;
    expect((await t.request(`${base}/settings`, { headers: asBrowser(admin.cookie) })).status).toBe(200);
    await t.request(`${base}/members/${memberId}/role`, {
      method: 'PUT',
      headers: asBrowser(owner.cookie),
      body: JSON.stringify({ role: 'member' }),
    });
    expect((await t.request(`${base}/settings`, { headers: asBrowser(admin.cookie) })).body.code).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
  });
});

describe.skipIf(!redisUrl())('the session cache in Redis', () => {
  it('is shared: a sign-out on one instance ends the session on another at once', async () => {
    const database = await createTestDatabase();
    const env = { RATE_LIMIT_PREFIX: `shared:${randomBytes(4).toString('hex')}` };
    const a = await startTestApp({ env, databaseUrl: database.url });
    const b = await startTestApp({ env, databaseUrl: database.url });
    try {
      const user = await signUp(a);
      expect((await b.request('/api/user/me', { headers: asBrowser(user.cookie) })).status).toBe(200);
      expect((await a.request('/api/user/me', { headers: asBrowser(user.cookie) })).status).toBe(200);
      await postJson(a, '/api/auth/sign-out', {}, user.cookie);
      expect((await b.request('/api/user/me', { headers: asBrowser(user.cookie) })).body.code).toBe(
        'INVALID_OR_EXPIRED_TOKEN',
      );
    } finally {
      await a.close();
      await b.close();
      await database.drop();
    }
  });
});
