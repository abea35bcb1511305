/**
 * The provider against the OAuth 2.0 Security Best Current Practice (RFC 9700) and API.md section 10:
 * PKCE S256 only, exact redirect URIs, single-use codes, rotating refresh tokens with replay detection,
 * no implicit or password grant, no tokens in URLs, no-store token answers, no redirect for an unknown client.
 * Every check asserts the protocol's error in RFC 6749 form.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../server/ids.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signUp, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { registerClient } from '../support/oauth.js';
import { cookieBrowser, csrfOf, formPost } from '../support/oauth-flow.js';
import { defaultOrganizationId } from '../support/tenancy.js';

const REDIRECT = 'https://client.example/callback';
const SCOPE = 'openid email offline_access projects:read';
/** Moves only this service's clock (the refresh grace period), not the provider's token expiries. */
const clock = { at: Date.now(), now: () => new Date(clock.at) };
let t: TestApp;
let issuer: string;
let authorizationEndpoint: string;
let tokenEndpoint: string;
let clientA: { id: string; secret: string };
let clientB: { id: string; secret: string };

const insertClient = (t: TestApp, name: string, redirectUri: string) =>
  registerClient(t, { name, redirectUris: [redirectUri] });

beforeAll(async () => {
  const port = await freePort();
  t = await startTestApp({
    port,
    now: clock.now,
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      TRUSTED_ORIGINS: 'http://localhost:3000',
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      RATE_LIMIT_SIGN_IN_POINTS: '100',
    },
  });
  issuer = `${t.services.config.baseUrl}/api/auth/oauth2`;
  clientA = await insertClient(t, 'Partner App', REDIRECT);
  clientB = await insertClient(t, 'Other App', 'https://other.example/callback');
  const config = await oidc.discovery(
    new URL(issuer),
    clientA.id,
    clientA.secret,
    oidc.ClientSecretBasic(clientA.secret),
    { execute: [oidc.allowInsecureRequests] },
  );
  authorizationEndpoint = config.serverMetadata().authorization_endpoint!;
  tokenEndpoint = config.serverMetadata().token_endpoint!;
});
afterAll(async () => {
  await t?.close();
});

const browser = () => cookieBrowser(t.services.config.baseUrl);

/** An authorization request URL with valid defaults (client A, S256 PKCE); `undefined` drops a parameter. */
function authorizeUrl(params: Record<string, string | undefined> = {}): string {
  const all: Record<string, string | undefined> = {
    client_id: clientA.id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: SCOPE,
    code_challenge: 'x'.repeat(43),
    code_challenge_method: 'S256',
    state: 'st',
    ...params,
  };
  const query = new URLSearchParams(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
  return `${authorizationEndpoint}?${query}`;
}

/**
 * What the authorization endpoint answered: a redirect to the client carrying `error` (in the query, or
 * the fragment for fragment response modes), or an error page (no Location).
 */
async function authorizationAnswer(url: string) {
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  const body = await res.text();
  if (!location) return { status: res.status, location, redirectedTo: null, error: null, body };
  const target = new URL(location, url);
  const params = new URLSearchParams(target.hash ? target.hash.slice(1) : target.search);
  return {
    status: res.status,
    location,
    redirectedTo: target.origin + target.pathname,
    error: params.get('error') ?? new URLSearchParams(target.search).get('error'),
    body,
  };
}

/** A call to the token endpoint, authenticated with client_secret_basic. */
async function token(fields: Record<string, string>, client = clientA) {
  const basic = Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64');
  const res = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${basic}`,
      accept: 'application/json',
    },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

/** Runs the flow for a signed-in browser up to the client's callback: the code, its verifier and the callback URL. */
async function codeFor(user: SignedUp) {
  const b = browser();
  b.cookies.set('session', user.cookie.split('=')[1]!);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const start = await b.follow(
    authorizeUrl({ code_challenge: await oidc.calculatePKCECodeChallenge(verifier), state, prompt: 'consent' }),
  );
  const consentHtml = await start.res.text();
  expect(start.res.status).toBe(200);
  const done = await formPost(b, `${start.url}/confirm`, { csrf: csrfOf(consentHtml) });
  const callback = new URL(done.url);
  expect(callback.origin + callback.pathname).toBe(REDIRECT);
  return { callback, code: callback.searchParams.get('code')!, verifier, state };
}

const exchange = (code: string, verifier: string, client = clientA) =>
  token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT }, client);

/** A signed-up user's tokens from client A (access, refresh and ID tokens). */
async function tokensFor(user: SignedUp) {
  const { code, verifier } = await codeFor(user);
  const res = await exchange(code, verifier);
  expect(res.status).toBe(200);
  expect(res.body.access_token).toBeTruthy();
  expect(res.body.refresh_token).toBeTruthy();
  return res.body as { access_token: string; refresh_token: string; id_token: string };
}

const refresh = (refreshToken: string, client = clientA) =>
  token({ grant_type: 'refresh_token', refresh_token: refreshToken }, client);

/** GET of the user's projects with an access token: the API's answer status. */
async function projectsStatus(user: SignedUp, accessToken: string): Promise<number> {
  const organizationId = await defaultOrganizationId(t, user.userId);
  const res = await t.request(`/api/user/organizations/${organizationId}/projects`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  return res.status;
}

describe('RFC 9700 security checks', () => {
  it('1. refuses a plain PKCE challenge with invalid_request, redirected to the client', async () => {
    const answer = await authorizationAnswer(authorizeUrl({ code_challenge_method: 'plain' }));
    expect(answer.status).toBe(303);
    expect(answer.redirectedTo).toBe(REDIRECT);
    expect(answer.error).toBe('invalid_request');
  });

  it('2. requires a PKCE challenge on authorize and the matching code_verifier at the token endpoint', async () => {
    const answer = await authorizationAnswer(
      authorizeUrl({ code_challenge: undefined, code_challenge_method: undefined }),
    );
    expect(answer.status).toBe(303);
    expect(answer.redirectedTo).toBe(REDIRECT);
    expect(answer.error).toBe('invalid_request');

    const user = await signUp(t);
    const { code } = await codeFor(user);
    const missing = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_grant');
    const wrong = await exchange(code, oidc.randomPKCECodeVerifier());
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
    expect(wrong.body.access_token).toBeUndefined();
  });

  it('3. shows an error page, never a redirect, for a redirect_uri that is not an exact match', async () => {
    for (const redirectUri of [`${REDIRECT}/`, `${REDIRECT}?extra=1`, 'https://client.example/Callback']) {
      const answer = await authorizationAnswer(authorizeUrl({ redirect_uri: redirectUri }));
      expect(answer.status, redirectUri).toBe(400);
      expect(answer.location, redirectUri).toBeNull();
      expect(answer.body, redirectUri).toContain('redirect_uri');
    }
  });

  it('4. refuses a reused code with invalid_grant and revokes the tokens the code issued', async () => {
    const user = await signUp(t);
    const { code, verifier } = await codeFor(user);
    const first = await exchange(code, verifier);
    expect(first.status).toBe(200);
    expect(await projectsStatus(user, first.body.access_token)).toBe(200);

    const second = await exchange(code, verifier);
    expect(second.status).toBe(400);
    expect(second.body.error).toBe('invalid_grant');
    expect(second.body.access_token).toBeUndefined();

    expect((await refresh(first.body.refresh_token)).body.error).toBe('invalid_grant');
    expect(await projectsStatus(user, first.body.access_token)).toBe(401);
  });

  it('5. detects a replayed refresh token: invalid_grant, and the whole family is revoked', async () => {
    const user = await signUp(t);
    const tokens = await tokensFor(user);
    const rotated = await refresh(tokens.refresh_token);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).toBeTruthy();
    expect(rotated.body.refresh_token).not.toBe(tokens.refresh_token);

    // A retry within 10 s is a client's concurrent refresh, not a replay.
    const retried = await refresh(tokens.refresh_token);
    expect(retried.status).toBe(200);

    clock.at += 11_000;
    const replay = await refresh(tokens.refresh_token);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');

    const newest = await refresh(rotated.body.refresh_token);
    expect(newest.status).toBe(400);
    expect(newest.body.error).toBe('invalid_grant');
    expect(await projectsStatus(user, rotated.body.access_token)).toBe(401);
  });

  it("6. refuses client A's refresh token presented by client B with invalid_grant", async () => {
    const user = await signUp(t);
    const tokens = await tokensFor(user);
    const stolen = await refresh(tokens.refresh_token, clientB);
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
    expect(stolen.body.access_token).toBeUndefined();
  });

  it('7. refuses the password and implicit-like grants and every response type but code', async () => {
    const user = await signUp(t);
    const grants: Record<string, string>[] = [
      { grant_type: 'password', username: user.email, password: user.password, scope: 'openid' },
      { grant_type: 'token' },
    ];
    for (const fields of grants) {
      const res = await token(fields);
      expect(res.status, fields.grant_type).toBe(400);
      expect(res.body.error, fields.grant_type).toBe('unsupported_grant_type');
    }
    for (const responseType of ['token', 'id_token', 'code id_token']) {
      const answer = await authorizationAnswer(authorizeUrl({ response_type: responseType, nonce: 'n' }));
      if (answer.location) {
        expect(answer.redirectedTo, responseType).toBe(REDIRECT);
        expect(answer.error, responseType).toBe('unsupported_response_type');
      } else {
        expect(answer.status, responseType).toBe(400);
        expect(answer.body, responseType).toContain('unsupported_response_type');
      }
    }
  });

  it('8. puts no token in the redirect to the client: only code, state and iss', async () => {
    const user = await signUp(t);
    const { callback, state } = await codeFor(user);
    expect([...callback.searchParams.keys()].sort()).toEqual(['code', 'iss', 'state']);
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('iss')).toBe(issuer);
    expect(callback.hash).toBe('');
    expect(callback.toString()).not.toMatch(/access_token|id_token|refresh_token/);
  });

  it('9. answers Cache-Control: no-store from the token endpoint, on success and on error', async () => {
    const user = await signUp(t);
    const { code, verifier } = await codeFor(user);
    const success = await exchange(code, verifier);
    expect(success.status).toBe(200);
    expect(success.headers.get('cache-control')).toContain('no-store');
    const failure = await exchange(code, verifier);
    expect(failure.body.error).toBe('invalid_grant');
    expect(failure.headers.get('cache-control')).toContain('no-store');
    const unsupported = await token({ grant_type: 'password', username: user.email, password: user.password });
    expect(unsupported.body.error).toBe('unsupported_grant_type');
    expect(unsupported.headers.get('cache-control')).toContain('no-store');
  });

  // The revocations of checks 4 and 5 must hold for a user who also holds another grant to the same client
  // (another device or browser), which is the usual case for a victim.
  it("4b/5b. revokes the reused code's and the replayed family's access tokens while the user holds another grant to the client", async () => {
    const user = await signUp(t);
    const otherDevice = await tokensFor(user);

    const { code, verifier } = await codeFor(user);
    const first = await exchange(code, verifier);
    expect((await exchange(code, verifier)).body.error).toBe('invalid_grant');
    expect((await refresh(first.body.refresh_token)).body.error).toBe('invalid_grant');
    expect(await projectsStatus(user, first.body.access_token)).toBe(401);

    const family = await tokensFor(user);
    const rotated = await refresh(family.refresh_token);
    clock.at += 11_000;
    expect((await refresh(family.refresh_token)).body.error).toBe('invalid_grant');
    expect(await projectsStatus(user, rotated.body.access_token)).toBe(401);

    expect(await projectsStatus(user, otherDevice.access_token)).toBe(200);
  });

  it('10. shows an error page, never a redirect, for an unknown client_id', async () => {
    const answer = await authorizationAnswer(authorizeUrl({ client_id: newId() }));
    expect(answer.status).toBe(400);
    expect(answer.location).toBeNull();
    expect(answer.body).toContain('invalid_client');
  });
});
