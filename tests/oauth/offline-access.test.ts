/**
 * Refresh tokens follow the `offline_access` the user approved (adapters/oauth/provider.ts): requested
 * without prompt=consent, as the README's partner does, it is listed on the consent page and, once
 * approved, brings a refresh token that works and rotates; never requested or never approved, no
 * refresh token; asked for where it cannot be had, a protocol error rather than silence.
 * Driven with openid-client as the relying party and the pages submitted like a browser without JavaScript.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { ORIGIN, sessionCookieFrom, signUp, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { registerClient, registerPublicClient } from '../support/oauth.js';
import {
  authorizationRequest,
  cookieBrowser,
  csrfOf,
  formPost,
  protocolPost,
  type CookieBrowser,
} from '../support/oauth-flow.js';
import { defaultOrganizationId } from '../support/tenancy.js';

const REDIRECT = 'https://client.example/callback';
const OFFLINE = 'openid email offline_access projects:read';
let t: TestApp;
let issuer: string;

beforeAll(async () => {
  const port = await freePort();
  t = await startTestApp({
    port,
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      TRUSTED_ORIGINS: ORIGIN,
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      RATE_LIMIT_SIGN_IN_POINTS: '100',
    },
  });
  issuer = `${t.services.config.baseUrl}/api/auth/oauth2`;
});
afterAll(async () => {
  await t?.close();
});

const discoverConfidential = (client: { id: string; secret: string }) =>
  oidc.discovery(new URL(issuer), client.id, client.secret, oidc.ClientSecretBasic(client.secret), {
    execute: [oidc.allowInsecureRequests],
  });
const discoverPublic = (client: { id: string }) =>
  oidc.discovery(new URL(issuer), client.id, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });

/** A browser holding the user's session cookie of this service (signed in, no form needed). */
function signedInBrowser(user: SignedUp): CookieBrowser {
  const b = cookieBrowser(t.services.config.baseUrl);
  b.cookies.set('session', user.cookie.split('=')[1]!);
  return b;
}

/** The authorization request as the README's partner builds it: openid-client, S256 PKCE, no prompt. */
async function authorizationUrl(config: oidc.Configuration, scope: string, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope,
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { url: url.toString(), verifier, state };
}

/**
 * Sends the browser to the authorization URL; approves the consent page when one is shown. Returns the
 * consent page's HTML (null when none was shown) and the callback URL the client received.
 */
async function authorize(b: CookieBrowser, url: string): Promise<{ consent: string | null; callback: URL }> {
  const start = await b.follow(url);
  if (!start.url.startsWith(t.services.config.baseUrl)) return { consent: null, callback: new URL(start.url) };
  const consent = await start.res.text();
  expect(start.res.status, consent).toBe(200);
  const done = await formPost(b, `${start.url}/confirm`, { csrf: csrfOf(consent) });
  return { consent, callback: new URL(done.url) };
}

async function tokensFor(
  config: oidc.Configuration,
  b: CookieBrowser,
  scope: string,
  extra: Record<string, string> = {},
) {
  const request = await authorizationUrl(config, scope, extra);
  const { consent, callback } = await authorize(b, request.url);
  expect(callback.origin + callback.pathname).toBe(REDIRECT);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
  });
  return { consent, tokens };
}

async function projectsStatus(user: SignedUp, accessToken: string): Promise<number> {
  const organizationId = await defaultOrganizationId(t, user.userId);
  return (
    await t.request(`/api/user/organizations/${organizationId}/projects`, {
      headers: { authorization: `Bearer ${accessToken}` },
    })
  ).status;
}

const scopesOf = (accessToken: string): string[] =>
  JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).scope.split(' ');

describe('offline_access approved on the consent page, without prompt=consent', () => {
  it('lists offline access on the consent page, then gives a refresh token that works and rotates (confidential client)', async () => {
    const user = await signUp(t);
    const client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT] });
    const config = await discoverConfidential(client);
    const { consent, tokens } = await tokensFor(config, signedInBrowser(user), OFFLINE);

    expect(consent).toContain('Stay connected when you are not using it');
    expect(consent).toContain('(offline_access)');
    expect(consent).toContain('Read your projects');
    expect(tokens.refresh_token).toBeTruthy();
    // The access token is for the API (its scopes, no offline_access); the refresh token holds the approval.
    const introspected = await oidc.tokenIntrospection(config, tokens.refresh_token!);
    expect(introspected.active).toBe(true);
    expect(introspected.scope?.split(' ')).toEqual(
      expect.arrayContaining(['openid', 'email', 'offline_access', 'projects:read']),
    );

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(scopesOf(refreshed.access_token)).toContain('projects:read');
    expect(await projectsStatus(user, refreshed.access_token)).toBe(200);
    // The rotated token refreshes again; the family stays alive.
    const again = await oidc.refreshTokenGrant(config, refreshed.refresh_token!);
    expect(again.refresh_token).toBeTruthy();
  });

  it('does the same for a public client (PKCE, no secret), rotating its refresh tokens', async () => {
    const user = await signUp(t);
    const client = await registerPublicClient(t, { name: 'Mobile App', redirectUris: [REDIRECT] });
    const config = await discoverPublic(client);
    const { consent, tokens } = await tokensFor(config, signedInBrowser(user), OFFLINE);
    expect(consent).toContain('(offline_access)');
    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(await projectsStatus(user, refreshed.access_token)).toBe(200);
  });

  it('issues it through a pushed authorization request too', async () => {
    const user = await signUp(t);
    const client = await registerPublicClient(t, { name: 'Pushing App', redirectUris: [REDIRECT] });
    const config = await discoverPublic(client);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT,
      scope: OFFLINE,
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const { consent, callback } = await authorize(signedInBrowser(user), url.toString());
    expect(consent).toContain('(offline_access)');
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.refresh_token).toBeTruthy();
  });

  it('takes a pushed authorization request from a confidential client, authenticated by its secret', async () => {
    const user = await signUp(t);
    const client = await registerClient(t, { name: 'Pushing Partner', redirectUris: [REDIRECT] });
    const config = await discoverConfidential(client);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT,
      scope: OFFLINE,
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const { callback } = await authorize(signedInBrowser(user), url.toString());
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.refresh_token).toBeTruthy();
  });

  it('keeps the approval: a later request for offline_access, and prompt=none, get a refresh token without asking again', async () => {
    const user = await signUp(t);
    const client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT] });
    const config = await discoverConfidential(client);
    const b = signedInBrowser(user);
    expect((await tokensFor(config, b, OFFLINE)).consent).not.toBeNull();

    const second = await tokensFor(config, b, OFFLINE);
    expect(second.consent).toBeNull();
    expect(second.tokens.refresh_token).toBeTruthy();

    const silent = await tokensFor(config, b, OFFLINE, { prompt: 'none' });
    expect(silent.consent).toBeNull();
    expect(silent.tokens.refresh_token).toBeTruthy();

    // prompt=consent asks again, and lists everything the client will hold, not an empty list.
    const asked = await tokensFor(config, b, OFFLINE, { prompt: 'consent' });
    expect(asked.consent).toContain('(offline_access)');
    expect(asked.consent).toContain('Read your projects');
    expect(asked.tokens.refresh_token).toBeTruthy();
  });

  it('outlives the sign-out (that is what offline access is), but not the withdrawal of the grant', async () => {
    const user = await signUp(t);
    const client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT] });
    const config = await discoverConfidential(client);
    const b = signedInBrowser(user);
    const { tokens } = await tokensFor(config, b, OFFLINE);

    const signedOut = await t.request('/api/auth/sign-out', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: ORIGIN, cookie: user.cookie },
      body: '{}',
    });
    expect(signedOut.status).toBe(200);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();

    const signedIn = await t.request('/api/auth/sign-in/email', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    const cookie = sessionCookieFrom(signedIn.headers)!;
    const withdrawn = await t.request(`/api/user/oauth-grants/${client.id}`, {
      method: 'DELETE',
      headers: { origin: ORIGIN, cookie },
    });
    expect(withdrawn.status).toBe(200);
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });
});

describe('no refresh token without an approved offline_access', () => {
  it('gives none when offline_access is not requested, and its consent page does not mention it', async () => {
    const user = await signUp(t);
    const client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT] });
    const config = await discoverConfidential(client);
    const { consent, tokens } = await tokensFor(config, signedInBrowser(user), 'openid email projects:read');
    expect(consent).not.toContain('offline_access');
    expect(consent).not.toContain('Stay connected');
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeUndefined();
  });

  it('gives none to a request without offline_access even when the user approved it before', async () => {
    const user = await signUp(t);
    const client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT] });
    const config = await discoverConfidential(client);
    const b = signedInBrowser(user);
    expect((await tokensFor(config, b, OFFLINE)).tokens.refresh_token).toBeTruthy();
    const later = await tokensFor(config, b, 'openid email projects:read');
    expect(later.tokens.refresh_token).toBeUndefined();
  });

  it('answers prompt=none with consent_required while offline_access is not approved, rather than dropping it', async () => {
    const user = await signUp(t);
    const client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT] });
    const config = await discoverConfidential(client);
    const b = signedInBrowser(user);
    // Approved without offline_access...
    expect((await tokensFor(config, b, 'openid email projects:read')).tokens.refresh_token).toBeUndefined();
    // ...so a silent request for it cannot be answered with a code.
    const request = await authorizationUrl(config, OFFLINE, { prompt: 'none' });
    const { url } = await b.follow(request.url);
    const callback = new URL(url);
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    expect(callback.searchParams.get('error')).toBe('consent_required');
    expect(callback.searchParams.get('code')).toBeNull();
  });

  it('sends a user who denies back with access_denied and no grant', async () => {
    const user = await signUp(t);
    const client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT] });
    const config = await discoverConfidential(client);
    const b = signedInBrowser(user);
    const start = await b.follow((await authorizationUrl(config, OFFLINE)).url);
    const denied = await formPost(b, `${start.url}/abort`, { csrf: csrfOf(await start.res.text()) });
    expect(new URL(denied.url).searchParams.get('error')).toBe('access_denied');
    const grants = await t.services.orm.em
      .fork()
      .getConnection()
      .execute<{ n: string }[]>(
        `select count(*) as n from oidc_artifacts where model = 'Grant' and payload->>'clientId' = ?`,
        [client.id],
      );
    expect(Number(grants[0]!.n)).toBe(0);
  });
});

describe('offline_access a client cannot have is refused, not dropped', () => {
  /** The error the authorization endpoint redirects to the client with, for a request of `scope`. */
  async function authorizationError(clientId: string, scope: string) {
    const request = await authorizationRequest(`${issuer}/authorize`, {
      client_id: clientId,
      redirect_uri: REDIRECT,
      scope,
    });
    const res = await fetch(request.url, { redirect: 'manual' });
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(REDIRECT);
    return { error: location.searchParams.get('error'), description: location.searchParams.get('error_description') };
  }

  it("answers invalid_scope when offline_access is not among the client's allowed scopes", async () => {
    const client = await registerClient(t, { redirectUris: [REDIRECT], scopes: ['openid', 'projects:read'] });
    expect(await authorizationError(client.id, 'openid offline_access projects:read')).toMatchObject({
      error: 'invalid_scope',
    });
    // With prompt=consent as well: the same answer, whatever the prompt.
    const request = await authorizationRequest(`${issuer}/authorize`, {
      client_id: client.id,
      redirect_uri: REDIRECT,
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    const res = await fetch(request.url, { redirect: 'manual' });
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('invalid_scope');
  });

  it('answers invalid_scope, saying why, when the client is not registered for the refresh_token grant', async () => {
    const client = await registerClient(t, { redirectUris: [REDIRECT], grantTypes: ['authorization_code'] });
    const answer = await authorizationError(client.id, OFFLINE);
    expect(answer.error).toBe('invalid_scope');
    expect(answer.description).toMatch(/refresh_token grant/);
    // Without offline_access that client is served as before: on to the sign-in page.
    const request = await authorizationRequest(`${issuer}/authorize`, {
      client_id: client.id,
      redirect_uri: REDIRECT,
      scope: 'openid projects:read',
    });
    const res = await fetch(request.url, { redirect: 'manual' });
    expect(new URL(res.headers.get('location')!, issuer).pathname).toMatch(/^\/api\/auth\/oauth2\/interaction\//);
  });

  it('refuses offline_access in a pushed authorization request the same way', async () => {
    const client = await registerPublicClient(t, { redirectUris: [REDIRECT], scopes: ['openid', 'projects:read'] });
    const pushed = await protocolPost(`${issuer}/request`, {
      client_id: client.id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    expect(pushed.status).toBe(400);
    expect(pushed.body.error).toBe('invalid_scope');
  });
});
