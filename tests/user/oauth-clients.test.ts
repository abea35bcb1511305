/** OAuth clients under /api/user/oauth-clients, over REST. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuthClientSchema } from '../../entities/oauth.js';
import { createApiKey } from '../support/api-keys.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, postJson, signUp, type SignedUp } from '../support/identity.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '100' } });
});
afterAll(async () => {
  await t?.close();
});

const BASE = '/api/user/oauth-clients';
const VALID = {
  name: 'My app',
  redirectUris: ['https://app.example.com/callback'],
  allowedScopes: ['openid', 'user:read'],
};
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const clientRow = (id: string) => t.services.orm.em.fork().findOne(OAuthClientSchema, { id });

const get = (path: string, cookie?: string) => t.request(path, { headers: asBrowser(cookie) });
const put = (path: string, body: unknown, cookie: string) =>
  t.request(path, { method: 'PUT', headers: asBrowser(cookie), body: JSON.stringify(body) });
const del = (path: string, cookie: string) => t.request(path, { method: 'DELETE', headers: asBrowser(cookie) });

async function createClient(user: SignedUp, body: Record<string, unknown> = {}) {
  const res = await postJson(t, BASE, { ...VALID, ...body }, user.cookie);
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data as { clientId: string; clientSecret?: string; type: string };
}

function expectNoSecret(body: unknown, secret: string) {
  const text = JSON.stringify(body);
  expect(text).not.toContain(secret);
  expect(text).not.toContain(sha256(secret));
  expect(text).not.toMatch(/clientSecret|secretHash/);
}

describe('the lifecycle of a confidential client', () => {
  it('creates, lists, gets, updates, rotates and deletes a client', async () => {
    const user = await signUp(t);
    const created = await postJson(
      t,
      BASE,
      { ...VALID, name: '  My app ', allowedScopes: ['openid', 'user:read', 'openid'] },
      user.cookie,
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ success: true, status: 201, code: 'OK', message: 'OAuth client created' });
    const { clientId, clientSecret } = created.body.data;
    expect(clientSecret).toMatch(/^cs_[A-Za-z0-9_-]{43}$/);
    expect(created.body.data).toMatchObject({
      name: 'My app',
      type: 'confidential',
      redirectUris: VALID.redirectUris,
      allowedScopes: ['openid', 'user:read'],
      grantTypes: ['authorization_code', 'refresh_token'],
      logoUri: null,
      policyUri: null,
      tosUri: null,
    });

    const row = await clientRow(clientId);
    expect(row).toMatchObject({ userId: user.userId, secretHash: sha256(clientSecret), secretRotatedAt: null });
    expect(JSON.stringify(row)).not.toContain(clientSecret);

    const list = await get(BASE, user.cookie);
    expect(list.status).toBe(200);
    expect(list.body.message).toBe('Items fetched successfully');
    expect(list.body.meta).toMatchObject({ total: 1, offset: 0, limit: 20, hasMore: false });
    expect(list.body.data).toEqual([expect.objectContaining({ clientId, name: 'My app' })]);
    expectNoSecret(list.body, clientSecret);

    const got = await get(`${BASE}/${clientId}`, user.cookie);
    expect(got.status).toBe(200);
    expect(got.body.data).toMatchObject({ clientId, type: 'confidential' });
    expectNoSecret(got.body, clientSecret);

    const redirectUris = ['https://app.example.com/v2/callback', 'http://127.0.0.1:8080/cb'];
    const updated = await put(
      `${BASE}/${clientId}`,
      { redirectUris, logoUri: 'https://app.example.com/logo.png' },
      user.cookie,
    );
    expect(updated.status).toBe(200);
    expect(updated.body.data).toMatchObject({
      clientId,
      name: 'My app',
      redirectUris,
      logoUri: 'https://app.example.com/logo.png',
    });
    expectNoSecret(updated.body, clientSecret);
    expect((await clientRow(clientId))?.redirectUris).toEqual(redirectUris);

    const rotated = await postJson(t, `${BASE}/${clientId}/rotate-secret`, {}, user.cookie);
    expect(rotated.status).toBe(200);
    expect(rotated.body.message).toBe('Client secret rotated');
    const newSecret = rotated.body.data.clientSecret;
    expect(newSecret).toMatch(/^cs_[A-Za-z0-9_-]{43}$/);
    expect(newSecret).not.toBe(clientSecret);
    const rotatedRow = await clientRow(clientId);
    expect(rotatedRow?.secretHash).toBe(sha256(newSecret));
    expect(rotatedRow?.secretRotatedAt).toBeInstanceOf(Date);

    const deleted = await del(`${BASE}/${clientId}`, user.cookie);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ message: 'OAuth client deleted successfully', data: { id: clientId } });
    expect(await clientRow(clientId)).toBeNull();
    expect((await get(`${BASE}/${clientId}`, user.cookie)).body.code).toBe('NOT_FOUND');
  });

  it('removes the provider’s artifacts for the deleted client only', async () => {
    const user = await signUp(t);
    const doomed = await createClient(user);
    const kept = await createClient(user);
    const connection = t.services.orm.em.getConnection();
    const insert = `insert into oidc_artifacts (model, id, payload) values (?, ?, ?::jsonb)`;
    await connection.execute(insert, ['Grant', `g-${doomed.clientId}`, JSON.stringify({ clientId: doomed.clientId })]);
    await connection.execute(insert, ['Grant', `g-${kept.clientId}`, JSON.stringify({ clientId: kept.clientId })]);

    expect((await del(`${BASE}/${doomed.clientId}`, user.cookie)).status).toBe(200);
    const left = await connection.execute<{ id: string }[]>(`select id from oidc_artifacts where id in (?, ?)`, [
      `g-${doomed.clientId}`,
      `g-${kept.clientId}`,
    ]);
    expect(left.map((r) => r.id)).toEqual([`g-${kept.clientId}`]);
  });
});

describe('public clients', () => {
  it('have no secret and cannot rotate one', async () => {
    const user = await signUp(t);
    const created = await postJson(t, BASE, { ...VALID, type: 'public' }, user.cookie);
    expect(created.status).toBe(201);
    expect(created.body.data).not.toHaveProperty('clientSecret');
    expect(created.body.data.type).toBe('public');
    expect((await clientRow(created.body.data.clientId))?.secretHash).toBeNull();

    const rotated = await postJson(t, `${BASE}/${created.body.data.clientId}/rotate-secret`, {}, user.cookie);
    expect(rotated.status).toBe(409);
    expect(rotated.body).toMatchObject({ code: 'CONFLICT', message: 'Public clients have no secret' });
  });

  it('cannot use client_credentials, on create or update', async () => {
    const user = await signUp(t);
    const refused = await postJson(
      t,
      BASE,
      { ...VALID, type: 'public', grantTypes: ['authorization_code', 'client_credentials'] },
      user.cookie,
    );
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('VALIDATION_ERROR');
    expect(refused.body.meta.errors).toEqual([expect.objectContaining({ field: 'grantTypes' })]);

    const client = await createClient(user, { type: 'public' });
    const update = await put(`${BASE}/${client.clientId}`, { grantTypes: ['client_credentials'] }, user.cookie);
    expect(update.status).toBe(400);
    expect(update.body.code).toBe('VALIDATION_ERROR');

    const confidential = await postJson(t, BASE, { ...VALID, grantTypes: ['client_credentials'] }, user.cookie);
    expect(confidential.status).toBe(201);
  });
});

describe('validation', () => {
  let user: SignedUp;
  beforeAll(async () => {
    user = await signUp(t);
  });
  const create = (body: Record<string, unknown>) => postJson(t, BASE, { ...VALID, ...body }, user.cookie);

  it('refuses http redirect URIs except on loopback hosts', async () => {
    const res = await create({ redirectUris: ['http://app.example.com/cb'] });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    expect(res.body.meta.errors).toEqual([expect.objectContaining({ field: 'redirectUris.0', location: 'body' })]);

    const loopback = await create({
      redirectUris: ['http://127.0.0.1:8080/cb', 'http://localhost/cb', 'http://[::1]:3000/cb'],
    });
    expect(loopback.status).toBe(201);
    expect(loopback.body.data.redirectUris).toEqual([
      'http://127.0.0.1:8080/cb',
      'http://localhost/cb',
      'http://[::1]:3000/cb',
    ]);
  });

  it.each([
    ['a fragment', 'https://app.example.com/cb#frag'],
    ['a wildcard', 'https://*.example.com/cb'],
    ['a relative URL', '/callback'],
    ['a custom scheme', 'com.example.app:/cb'],
  ])('refuses a redirect URI with %s', async (_, uri) => {
    const res = await create({ redirectUris: ['https://ok.example.com/cb', uri] });
    expect(res.status).toBe(400);
    expect(res.body.meta.errors).toEqual([expect.objectContaining({ field: 'redirectUris.1' })]);
  });

  it('refuses an unknown scope, listing the allowed ones', async () => {
    const res = await create({ allowedScopes: ['openid', 'admin:everything'] });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    expect(res.body.meta.errors[0]).toMatchObject({ field: 'allowedScopes' });
    expect(res.body.meta.errors[0].error).toContain('offline_access');
  });

  it.each([
    ['empty redirectUris', { redirectUris: [] }, 'redirectUris'],
    ['empty allowedScopes', { allowedScopes: [] }, 'allowedScopes'],
    ['an unknown body field', { secret: 'mine' }, 'secret'],
    ['an http logoUri', { logoUri: 'http://app.example.com/logo.png' }, 'logoUri'],
    ['an unknown type', { type: 'service' }, 'type'],
  ])('refuses %s', async (_, body, field) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    expect(res.body.meta.errors).toEqual([expect.objectContaining({ field })]);
  });

  it('refuses an update with no field, or one that changes the type', async () => {
    const client = await createClient(user);
    expect((await put(`${BASE}/${client.clientId}`, {}, user.cookie)).body.code).toBe('VALIDATION_ERROR');
    const typed = await put(`${BASE}/${client.clientId}`, { name: 'Renamed', type: 'public' }, user.cookie);
    expect(typed.body.code).toBe('VALIDATION_ERROR');
    expect(typed.body.meta.errors).toEqual([expect.objectContaining({ field: 'type', error: 'Unknown field' })]);
  });
});

describe('access', () => {
  it('answers NOT_FOUND for another user’s client on every route', async () => {
    const owner = await signUp(t);
    const other = await signUp(t);
    const { clientId } = await createClient(owner);
    const answers = await Promise.all([
      get(`${BASE}/${clientId}`, other.cookie),
      put(`${BASE}/${clientId}`, { name: 'Mine now' }, other.cookie),
      del(`${BASE}/${clientId}`, other.cookie),
      postJson(t, `${BASE}/${clientId}/rotate-secret`, {}, other.cookie),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
    }
    expect((await get(BASE, other.cookie)).body.data).toEqual([]);
    expect((await clientRow(clientId))?.name).toBe('My app');
  });

  it('refuses a personal access token, even one with every scope', async () => {
    const user = await signUp(t);
    const { clientId } = await createClient(user);
    const key = await createApiKey(t, { userId: user.userId });
    const headers = { 'x-api-key': key };
    const answers = await Promise.all([
      t.request(BASE, { headers }),
      postJson(t, BASE, VALID, undefined, headers),
      t.request(`${BASE}/${clientId}`, { headers }),
      postJson(t, `${BASE}/${clientId}/rotate-secret`, {}, undefined, headers),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    }
  });

  it('asks for a credential when there is none', async () => {
    const list = await get(BASE);
    expect(list.status).toBe(401);
    expect(list.body.code).toBe('AUTHENTICATION_REQUIRED');
    const create = await postJson(t, BASE, VALID);
    expect(create.status).toBe(401);
    expect(create.body.code).toBe('AUTHENTICATION_REQUIRED');
  });
});
