/**
 * The provider's interactions and this service's own session: the provider's session ends with the
 * service's (sign-out, a password reset's revocation, a deactivated account), so prompt=none cannot
 * outlive it; and an account whose email is not verified is refused at consent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../server/crypto.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ORIGIN, signUp, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { registerClient } from '../support/oauth.js';
import {
  authorizationRequest,
  cookieBrowser,
  csrfOf,
  formPost,
  signInAndApprove,
  type CookieBrowser,
} from '../support/oauth-flow.js';

const REDIRECT = 'https://client.example/callback';
let t: TestApp;
let issuer: string;
let client: { id: string; secret: string };

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
  client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT] });
});
afterAll(async () => {
  await t?.close();
});

const authorize = (params: Record<string, string> = {}) =>
  authorizationRequest(`${issuer}/authorize`, {
    client_id: client.id,
    redirect_uri: REDIRECT,
    scope: 'openid projects:read',
    ...params,
  });
const sql = () => t.services.orm.em.fork().getConnection();

/** A browser signed in through the sign-in form of the flow (the provider's session and the service's cookie). */
async function signedInBrowser(user: SignedUp): Promise<CookieBrowser> {
  const b = cookieBrowser(t.services.config.baseUrl);
  const callback = await signInAndApprove(b, await b.follow((await authorize()).url), user);
  expect(callback.searchParams.get('code')).toBeTruthy();
  expect(b.cookies.get('session')).toBeTruthy();
  return b;
}

/** What a prompt=none request brings back to the client: a code or an error. */
async function silently(b: CookieBrowser) {
  const { url } = await b.follow((await authorize({ prompt: 'none' })).url);
  const callback = new URL(url);
  expect(callback.origin + callback.pathname).toBe(REDIRECT);
  return { code: callback.searchParams.get('code'), error: callback.searchParams.get('error') };
}

/** Drops the cached session of the browser's cookie, as the service's own revocations do. */
const forgetCachedSession = (b: CookieBrowser) =>
  t.services.credentialCache.forget([sha256Hex(b.cookies.get('session')!)]);

describe("the provider's session follows the service's", () => {
  it('answers prompt=none with login_required once the user signed out', async () => {
    const user = await signUp(t);
    const b = await signedInBrowser(user);
    expect(await silently(b)).toMatchObject({ error: null, code: expect.any(String) });

    const cookie = `session=${b.cookies.get('session')}`;
    const signOut = await t.request('/api/auth/sign-out', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: ORIGIN, cookie },
      body: '{}',
    });
    expect(signOut.status).toBe(200);
    b.cookies.delete('session');
    expect(await silently(b)).toEqual({ code: null, error: 'login_required' });
  });

  it('answers prompt=none with login_required when the browser still sends the signed-out cookie', async () => {
    const user = await signUp(t);
    const b = await signedInBrowser(user);
    const cookie = `session=${b.cookies.get('session')}`;
    await t.request('/api/auth/sign-out', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: ORIGIN, cookie },
      body: '{}',
    });
    b.cookies.set('session', cookie.slice('session='.length));
    expect(await silently(b)).toEqual({ code: null, error: 'login_required' });
  });

  it('answers prompt=none with login_required once the sessions were revoked (as a password reset does)', async () => {
    const user = await signUp(t);
    const b = await signedInBrowser(user);
    expect((await silently(b)).code).toBeTruthy();
    await sql().execute('update sessions set revoked_at = now() where user_id = ?', [user.userId]);
    await forgetCachedSession(b);
    expect(await silently(b)).toEqual({ code: null, error: 'login_required' });

    // Without prompt=none the user is asked to sign in again, not let through.
    const page = await b.follow((await authorize()).url);
    expect(page.res.status).toBe(200);
    expect(await page.res.text()).toContain('type="password"');
  });

  it('answers prompt=none with login_required for a deactivated account', async () => {
    const user = await signUp(t);
    const b = await signedInBrowser(user);
    await sql().execute('update users set is_active = false where id = ?', [user.userId]);
    await forgetCachedSession(b);
    expect(await silently(b)).toEqual({ code: null, error: 'login_required' });
  });

  it("answers prompt=none with login_required when the service's cookie is another user's", async () => {
    const [first, second] = [await signUp(t), await signUp(t)];
    const b = await signedInBrowser(first);
    b.cookies.set('session', second.cookie.split('=')[1]!);
    expect(await silently(b)).toEqual({ code: null, error: 'login_required' });
  });

  it('still signs a browser with a valid session cookie in without a form', async () => {
    const user = await signUp(t);
    const b = cookieBrowser(t.services.config.baseUrl);
    b.cookies.set('session', user.cookie.split('=')[1]!);
    const consent = await b.follow((await authorize()).url);
    const html = await consent.res.text();
    expect(html).toContain('wants to');
    expect(html).not.toContain('type="password"');
    const callback = new URL((await formPost(b, `${consent.url}/confirm`, { csrf: csrfOf(html) })).url);
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect((await silently(b)).code).toBeTruthy();
  });
});

describe('consent for an account whose email is not verified', () => {
  it('is refused with the error page, and no grant is made', async () => {
    const user = await signUp(t, { verified: false });
    const b = cookieBrowser(t.services.config.baseUrl);
    const signIn = await b.follow((await authorize()).url);
    const csrf = csrfOf(await signIn.res.text());
    const consent = await formPost(b, `${signIn.url}/login`, { csrf, email: user.email, password: user.password });
    expect(consent.res.status).toBe(403);
    const page = await consent.res.text();
    expect(page).toMatch(/verify your email address/i);
    expect(page).not.toContain('wants to');

    // The interaction's form token is the sign-in page's: a forged approval is refused just the same.
    const approved = await formPost(b, `${consent.url}/confirm`, { csrf });
    expect(approved.res.status).toBe(403);
    expect(approved.url).not.toContain(REDIRECT);
    const grants = await sql().execute<{ n: string }[]>(
      `select count(*) as n from oidc_artifacts where model = 'Grant' and payload->>'accountId' = ?`,
      [user.userId],
    );
    expect(Number(grants[0]!.n)).toBe(0);
  });

  it('takes an account whose address became unverified back to consent, so prompt=none gets no code', async () => {
    const user = await signUp(t);
    const b = await signedInBrowser(user);
    expect((await silently(b)).code).toBeTruthy();
    await sql().execute('update users set verified_at = null where id = ?', [user.userId]);
    expect(await silently(b)).toEqual({ code: null, error: 'consent_required' });
    const page = await b.follow((await authorize()).url);
    expect(page.res.status).toBe(403);
  });
});
