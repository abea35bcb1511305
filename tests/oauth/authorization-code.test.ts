/**
 * The authorization code flow with PKCE, end to end: openid-client as the relying party, the sign-in
 * and consent pages submitted like a browser without JavaScript would (a cookie jar and form posts).
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signUp, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { registerClient } from '../support/oauth.js';
import { cookieBrowser, csrfOf, formPost, type CookieBrowser } from '../support/oauth-flow.js';
import { defaultOrganizationId } from '../support/tenancy.js';

const REDIRECT = 'https://client.example/callback';
let t: TestApp;
let issuer: string;
let user: SignedUp;
let client: { id: string; secret: string };

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
  user = await signUp(t);
  client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT] });
});
afterAll(async () => {
  await t?.close();
});

const browser = () => cookieBrowser(t.services.config.baseUrl);

async function authorize(b: CookieBrowser, config: oidc.Configuration, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid email profile offline_access projects:read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  return { ...(await b.follow(url.toString())), verifier, state };
}

describe('authorization code with PKCE', () => {
  let config: oidc.Configuration;
  beforeAll(async () => {
    config = await oidc.discovery(new URL(issuer), client.id, client.secret, oidc.ClientSecretBasic(client.secret), {
      execute: [oidc.allowInsecureRequests],
    });
  });

  it('signs in, asks consent, and gives tokens, userinfo and rotating refresh tokens', async () => {
    const b = browser();
    const start = await authorize(b, config);
    const signIn = await start.res.text();
    expect(start.res.status).toBe(200);
    expect(start.res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(signIn).toContain('Partner App');

    const wrong = await formPost(b, `${start.url}/login`, {
      csrf: csrfOf(signIn),
      email: user.email,
      password: 'not it',
    });
    expect(wrong.res.status).toBe(401);
    expect(await wrong.res.text()).toContain('Invalid email or password');

    const forged = await formPost(b, `${start.url}/login`, {
      csrf: 'forged',
      email: user.email,
      password: user.password,
    });
    expect(forged.res.status).toBe(403);

    const consent = await formPost(b, `${start.url}/login`, {
      csrf: csrfOf(signIn),
      email: user.email,
      password: user.password,
    });
    const consentHtml = await consent.res.text();
    expect(consentHtml).toContain('Read your projects');
    expect(consentHtml).toContain('See your email address');
    // offline_access, asked for without prompt=consent, is listed, and its approval brings the refresh token below.
    expect(consentHtml).toContain('Stay connected when you are not using it');

    const done = await formPost(b, `${consent.url}/confirm`, { csrf: csrfOf(consentHtml) });
    const callback = new URL(done.url);
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    expect(callback.searchParams.get('iss')).toBe(issuer);
    expect(callback.searchParams.get('state')).toBe(start.state);
    expect(callback.searchParams.has('access_token')).toBe(false);

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: start.verifier,
      expectedState: start.state,
    });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(user.userId);
    const access = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString());
    expect(access).toMatchObject({
      iss: issuer,
      sub: user.userId,
      aud: `${t.services.config.baseUrl}/api`,
      client_id: client.id,
    });
    expect(access.scope.split(' ')).toContain('projects:read');
    expect(access.exp - access.iat).toBe(900);

    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.userId);
    expect(info).toMatchObject({ sub: user.userId, email: user.email });

    // The same token on the API: scopes as approved, intersected with the user's role.
    const bearer = { authorization: `Bearer ${tokens.access_token}` };
    const organizationId = await defaultOrganizationId(t, user.userId);
    const projects = await t.request(`/api/user/organizations/${organizationId}/projects`, { headers: bearer });
    expect(projects.body).toMatchObject({ status: 200, code: 'OK' });
    const me = await t.request('/api/user/me', { headers: bearer });
    expect(me.body).toMatchObject({
      status: 403,
      code: 'INSUFFICIENT_PERMISSIONS',
      meta: { requiredScopes: ['user:read'] },
    });
    // The token with one character of its signature changed. Not the last ones: base64url's final
    // character also carries padding bits, which decoding drops, so changing it may change nothing.
    const at = tokens.access_token.length - 10;
    const swapped = tokens.access_token[at] === 'A' ? 'B' : 'A';
    const bad = await t.request('/api/user/me', {
      headers: {
        authorization: `Bearer ${tokens.access_token.slice(0, at)}${swapped}${tokens.access_token.slice(at + 1)}`,
      },
    });
    expect(bad.body).toMatchObject({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' });
    expect(bad.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    const introspected = await oidc.tokenIntrospection(config, refreshed.refresh_token!);
    expect(introspected.active).toBe(true);
    await oidc.tokenRevocation(config, refreshed.refresh_token!);
    expect((await oidc.tokenIntrospection(config, refreshed.refresh_token!)).active).toBe(false);

    // Withdrawing the grant ends its access tokens on their next use.
    await t.services.orm.em
      .fork()
      .getConnection()
      .execute(`delete from oidc_artifacts where model = 'Grant' and payload->>'accountId' = ?`, [user.userId]);
    expect(
      (
        await t.request(`/api/user/organizations/${organizationId}/projects`, {
          headers: { authorization: `Bearer ${refreshed.access_token}` },
        })
      ).body.code,
    ).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('signs a browser that holds the session cookie in without a form', async () => {
    const b = browser();
    b.cookies.set('session', user.cookie.split('=')[1]!);
    const start = await authorize(b, config);
    const html = await start.res.text();
    expect(html).toContain('wants to');
    expect(html).not.toContain('type="password"');
  });

  it('refuses a plain PKCE challenge and an unknown redirect URI without redirecting', async () => {
    const b = browser();
    const plain = await b.go(
      `${issuer}/authorize?${new URLSearchParams({ client_id: client.id, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'plain', state: 's' })}`,
    );
    expect(plain.status).toBe(303);
    expect(new URL(plain.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const foreign = await b.go(
      `${issuer}/authorize?${new URLSearchParams({ client_id: client.id, response_type: 'code', redirect_uri: `${REDIRECT}/`, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
    );
    expect(foreign.status).toBe(400);
    expect(foreign.headers.get('location')).toBeNull();
  });
});

describe('prompts', () => {
  it('answers prompt=none without a signed-in user with login_required, by redirect', async () => {
    const config = await oidc.discovery(
      new URL(issuer),
      client.id,
      client.secret,
      oidc.ClientSecretBasic(client.secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const b = browser();
    const { url } = await authorize(b, config, { prompt: 'none' });
    const callback = new URL(url);
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    expect(callback.searchParams.get('error')).toBe('login_required');
  });

  it('shows the sign-in form to a signed-in browser when the client asks for prompt=login, prefilled from login_hint', async () => {
    const config = await oidc.discovery(
      new URL(issuer),
      client.id,
      client.secret,
      oidc.ClientSecretBasic(client.secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const b = browser();
    b.cookies.set('session', user.cookie.split('=')[1]!);
    const start = await authorize(b, config, { prompt: 'login', login_hint: user.email });
    const html = await start.res.text();
    expect(html).toContain('type="password"');
    expect(html).toContain(`value="${user.email}"`);
  });
});
