/**
 * POST /auth/identify answers every address alike, account or not: the same status, headers and body,
 * and without reading any account (it answers while the users table is locked).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerFor, startTestApp, type TestApp } from '../support/app.js';
import { postJson, signUp, uniqueEmail } from '../support/identity.js';
import { newId } from '../../server/ids.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { TRUST_PROXY: 'loopback' } });
});
afterAll(async () => {
  await t?.close();
});

const from = (ip: string) => ({ 'x-forwarded-for': ip });
const identify = (email: string, ip: string, signal?: AbortSignal) =>
  t.request('/api/auth/identify', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...from(ip) },
    body: JSON.stringify({ email }),
    signal,
  });

const perRequest = new Set(['date', 'x-request-id']);
const answer = (res: Awaited<ReturnType<typeof identify>>) => ({
  status: res.status,
  headers: [...res.headers].filter(([name]) => !perRequest.has(name)),
  body: res.body,
});

describe('POST /auth/identify', () => {
  it('answers an address with an account exactly as one without', async () => {
    const user = await signUp(t, { ip: '198.51.100.1' });
    await t.services.orm.em
      .fork()
      .getConnection()
      .execute(
        `insert into two_factors (user_id, secret, confirmed_at, created_at, updated_at) values (?, ?, now(), now(), now())`,
        [user.userId, t.services.encrypter.encrypt('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP')],
      );
    // From two fresh clients, so that each spends the same budgets from full.
    const known = await identify(user.email, '198.51.100.2');
    const unknown = await identify(uniqueEmail('ghost'), '198.51.100.3');
    expect(answer(known)).toEqual(answer(unknown));
    expect(known.status).toBe(200);
    expect(known.body).toEqual({
      success: true,
      status: 200,
      code: 'OK',
      message: 'Sign-in methods for this address',
      data: { method: 'password', ssoProvider: null, ssoRedirectUrl: null, hasPasskey: true, allowMagicLink: true },
      meta: {},
    });
    expect(known.headers.get('cache-control')).toBe('no-store');
    expect(known.headers.get('ratelimit-limit')).toBe(String(t.services.config.budgets.global.points));
  });

  it('reads no account: it answers while the users table is locked', async () => {
    const user = await signUp(t, { ip: '198.51.100.4' });
    const locker = new pg.Client({ connectionString: t.services.config.databaseUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table users in access exclusive mode');
      const known = await identify(user.email, '198.51.100.5', AbortSignal.timeout(5_000));
      const unknown = await identify(uniqueEmail('ghost'), '198.51.100.6', AbortSignal.timeout(5_000));
      expect(answer(known)).toEqual(answer(unknown));
      expect(known.status).toBe(200);
    } finally {
      await locker.query('rollback').catch(() => {});
      await locker.end();
    }
  });

  it('needs no credential, and a tRPC or direct caller gets the same', async () => {
    const direct = await callerFor(t.services).auth.identify({ email: uniqueEmail() });
    expect(direct).toEqual({
      method: 'password',
      ssoProvider: null,
      ssoRedirectUrl: null,
      hasPasskey: true,
      allowMagicLink: true,
    });
  });

  it('refuses a malformed address, or none, with 400 VALIDATION_ERROR', async () => {
    for (const body of [{ email: 'not an address' }, {}, { email: 'a@b.c', extra: 1 }, { email: 'x'.repeat(400) }]) {
      const res = await postJson(t, '/api/auth/identify', body, undefined, from('198.51.100.7'));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('VALIDATION_ERROR');
    }
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await t.request('/api/openapi.json')).body;
    const operation = doc.paths['/auth/identify'].post;
    expect(operation.security).toEqual([]);
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '400', '429']));
  });
});

describe('an address on a domain an organization verified for SSO', () => {
  // Rows as the organization's /settings/sso and its DNS check leave them (tests/tenant covers those routes).
  async function ssoDomain(domain: string, verified: boolean): Promise<string> {
    const owner = await signUp(t, { ip: '198.51.100.20' });
    const db = t.services.orm.em.fork().getConnection();
    const [org] = await db.execute<{ organization_id: string }[]>(
      'select organization_id from members where user_id = ?',
      [owner.userId],
    );
    const connectionId = newId();
    await db.execute(
      `insert into sso_connections (id, organization_id, name, type, default_role, oidc_issuer, oidc_client_id, created_at, updated_at)
       values (?, ?, 'Corp', 'oidc', 'member', 'https://idp.example.com', 'client', now(), now())`,
      [connectionId, org!.organization_id],
    );
    await db.execute(
      `insert into sso_domains (id, organization_id, connection_id, domain, verification_token, verified_at, created_at)
       values (?, ?, ?, ?, 'token', ?, now())`,
      [newId(), org!.organization_id, connectionId, domain, verified ? new Date() : null],
    );
    return connectionId;
  }

  it('is told to sign in through that connection, by identify and by discovery alike', async () => {
    const connectionId = await ssoDomain('corp-identify.example', true);
    const signInUrl = `${t.services.config.baseUrl}/api/auth/sso/sign-in?providerId=${connectionId}`;
    const identified = await identify('Someone@Corp-Identify.example', '198.51.100.21');
    expect(identified.status).toBe(200);
    expect(identified.body.data).toEqual({
      method: 'sso',
      ssoProvider: connectionId,
      ssoRedirectUrl: signInUrl,
      hasPasskey: true,
      allowMagicLink: true,
    });
    const discovered = await t.request(
      `/api/auth/sso/discover?email=${encodeURIComponent('nobody@corp-identify.example')}`,
      { headers: from('198.51.100.22') },
    );
    expect(discovered.status).toBe(200);
    expect(discovered.body.data).toEqual({ found: true, providerId: connectionId, redirectUrl: signInUrl });
  });

  it('is not, while the domain is unverified', async () => {
    await ssoDomain('corp-unverified.example', false);
    expect((await identify('a@corp-unverified.example', '198.51.100.23')).body.data.method).toBe('password');
    const discovered = await t.request('/api/auth/sso/discover?email=a%40corp-unverified.example', {
      headers: from('198.51.100.24'),
    });
    expect(discovered.body.data).toEqual({ found: false, providerId: null, redirectUrl: null });
  });

  it('discovery refuses a malformed address with 400 VALIDATION_ERROR', async () => {
    const res = await t.request('/api/auth/sso/discover?email=nope', { headers: from('198.51.100.25') });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
  });
});
