/**
 * Apps a user authorized, under /api/user/oauth-grants, over REST. The grant is earned through the
 * real authorization code flow (as in tests/oauth/authorization-code.test.ts), so revoking it is
 * checked against the provider itself: its access token dies on the API and its refresh token at
 * the token endpoint.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../server/ids.js';
import { createApiKey } from '../support/api-keys.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, signUp, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { registerClient } from '../support/oauth.js';
import { cookieBrowser, csrfOf, formPost } from '../support/oauth-flow.js';
import { defaultOrganizationId } from '../support/tenancy.js';

const REDIRECT = 'https://client.example/callback';
const BASE = '/api/user/oauth-grants';
const LOGO = 'https://client.example/logo.png';
let t: TestApp;
let issuer: string;
let client: { id: string; secret: string };
let config: oidc.Configuration;

beforeAll(async () => {
  const port = await freePort();
  t = await startTestApp({
    port,
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      TRUSTED_ORIGINS: 'http://localhost:3000',
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      RATE_LIMIT_SIGN_IN_POINTS: '100',
    },
  });
  issuer = `${t.services.config.baseUrl}/api/auth/oauth2`;
  client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT], logoUri: LOGO });
  config = await oidc.discovery(new URL(issuer), client.id, client.secret, oidc.ClientSecretBasic(client.secret), {
    execute: [oidc.allowInsecureRequests],
  });
});
afterAll(async () => {
  await t?.close();
});

const browser = () => cookieBrowser(t.services.config.baseUrl);

/** Signs `user` in on the provider's pages, consents, and redeems the code: the tokens a client would hold. */
async function authorizeApp(user: SignedUp) {
  const b = browser();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid email offline_access projects:read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    prompt: 'consent',
  });
  const start = await b.follow(url.toString());
  const signIn = await start.res.text();
  const consent = await formPost(b, `${start.url}/login`, {
    csrf: csrfOf(signIn),
    email: user.email,
    password: user.password,
  });
  const done = await formPost(b, `${consent.url}/confirm`, { csrf: csrfOf(await consent.res.text()) });
  return oidc.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: verifier, expectedState: state });
}

const get = (path: string, headers: Record<string, string>) => t.request(path, { headers });
const sql = () => t.services.orm.em.fork().getConnection();
const grantsOf = async (userId: string) =>
  (
    await sql().execute<{ id: string }[]>(
      `select id from oidc_artifacts where model = 'Grant' and payload->>'accountId' = ?`,
      [userId],
    )
  ).map((row) => row.id);
/** The grant rows themselves plus every artifact that names them. */
const issuedUnder = async (grantIds: string[]) =>
  Number(
    (
      await sql().execute<{ n: string }[]>(
        `select count(*) as n from oidc_artifacts where id in (${grantIds.map(() => '?').join(', ')}) or grant_id in (${grantIds.map(() => '?').join(', ')})`,
        [...grantIds, ...grantIds],
      )
    )[0]!.n,
  );
const del = (path: string, cookie: string) => t.request(path, { method: 'DELETE', headers: asBrowser(cookie) });

describe('apps I authorized', () => {
  it('lists the grant, withdraws it, and ends the tokens issued under it', async () => {
    const user = await signUp(t);
    const other = await signUp(t);
    const before = Date.now();
    const tokens = await authorizeApp(user);
    const organizationId = await defaultOrganizationId(t, user.userId);
    const bearer = { authorization: `Bearer ${tokens.access_token}` };
    expect((await get(`/api/user/organizations/${organizationId}/projects`, bearer)).body).toMatchObject({
      status: 200,
      code: 'OK',
    });

    const listed = await get(BASE, asBrowser(user.cookie));
    expect(listed.body).toMatchObject({
      success: true,
      status: 200,
      code: 'OK',
      message: 'Items fetched successfully',
      meta: { total: 1, offset: 0, limit: 20, hasMore: false },
    });
    expect(listed.body.data).toHaveLength(1);
    const [item] = listed.body.data;
    expect(item).toMatchObject({ clientId: client.id, clientName: 'Partner App', logoUri: LOGO });
    expect(item.scopes).toEqual(['email', 'offline_access', 'openid', 'projects:read']);
    expect(Date.parse(item.grantedAt)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(item.grantedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(item.expiresAt === null || Date.parse(item.expiresAt) > Date.now()).toBe(true);

    // Another user sees none of it and cannot withdraw it.
    expect((await get(BASE, asBrowser(other.cookie))).body).toMatchObject({
      status: 200,
      data: [],
      meta: { total: 0 },
    });
    expect((await del(`${BASE}/${client.id}`, other.cookie)).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });

    // Session only: neither a PAT nor the app's own token may list or withdraw grants.
    const pat = await createApiKey(t, { userId: user.userId });
    expect((await get(BASE, { 'x-api-key': pat })).body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(
      (await t.request(`${BASE}/${client.id}`, { method: 'DELETE', headers: { 'x-api-key': pat } })).body,
    ).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect((await get(BASE, bearer)).body).toMatchObject({ status: 403, code: 'FORBIDDEN' });

    const grantIds = await grantsOf(user.userId);
    expect(grantIds).toHaveLength(1);
    expect(await issuedUnder(grantIds)).toBeGreaterThanOrEqual(2);

    const revoked = await del(`${BASE}/${client.id}`, user.cookie);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({
      success: true,
      status: 200,
      code: 'OK',
      message: 'Access revoked',
      data: { clientId: client.id },
    });
    expect((await get(BASE, asBrowser(user.cookie))).body).toMatchObject({ status: 200, data: [], meta: { total: 0 } });

    // Nothing issued under the grant is left behind: not the grant, nor its refresh token, code or session link.
    expect(await issuedUnder(grantIds)).toBe(0);

    const after = await get(`/api/user/organizations/${organizationId}/projects`, bearer);
    expect(after.body).toMatchObject({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toThrow();

    expect((await del(`${BASE}/${client.id}`, user.cookie)).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('folds several grants to one client into one item and leaves expired ones out', async () => {
    const user = await signUp(t);
    const now = Math.floor(Date.now() / 1000);
    const grant = (iat: number, openid: string, resources: Record<string, string>, expiresAt: Date | null) => [
      'Grant',
      newId(),
      JSON.stringify({
        kind: 'Grant',
        accountId: user.userId,
        clientId: client.id,
        iat,
        exp: now + 3600,
        openid: { scope: openid },
        resources,
      }),
      expiresAt,
    ];
    const em = t.services.orm.em.fork();
    for (const row of [
      grant(now - 100, 'openid email', { 'https://api.example': 'projects:read' }, new Date(Date.now() + 3600_000)),
      grant(now - 10, 'openid', { 'https://api.example': 'user:read projects:read' }, new Date(Date.now() + 7200_000)),
      grant(now, 'openid profile', {}, new Date(Date.now() - 1000)),
    ]) {
      await em
        .getConnection()
        .execute('insert into oidc_artifacts (model, id, payload, expires_at) values (?, ?, ?, ?)', row);
    }
    const listed = await get(BASE, asBrowser(user.cookie));
    expect(listed.body.meta).toMatchObject({ total: 1 });
    expect(listed.body.data).toEqual([
      expect.objectContaining({
        clientId: client.id,
        scopes: ['email', 'openid', 'projects:read', 'user:read'],
        grantedAt: new Date((now - 10) * 1000).toISOString(),
      }),
    ]);
    expect(Date.parse(listed.body.data[0].expiresAt)).toBeGreaterThan(Date.now() + 3600_000);

    expect((await get(`${BASE}?limit=0`, asBrowser(user.cookie))).body).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    expect((await del(`${BASE}/${client.id}`, user.cookie)).body).toMatchObject({
      status: 200,
      data: { clientId: client.id },
    });
    expect(await grantsOf(user.userId)).toEqual([]);
  });
});
