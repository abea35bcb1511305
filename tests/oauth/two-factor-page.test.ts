/**
 * The OpenID provider's sign-in for a user with two-factor on: after the password, a code form (no
 * JavaScript), whose code or backup code finishes the interaction as the password alone does for
 * others. In chromium end to end to tokens, and as form posts for the refusals. Codes are computed
 * here from the otpauth URI with @oslojs/otp; the service's clock is the test's.
 */
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { hasChromium, launchChromium } from '../support/chromium.js';
import { ORIGIN, postJson, signUp, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { registerClient } from '../support/oauth.js';
import { authorizationRequest, cookieBrowser, csrfOf, formPost } from '../support/oauth-flow.js';

const REDIRECT = 'https://client.example/callback';
const STEP_MS = 30_000;
const clock = { at: Math.floor(Date.now() / STEP_MS) * STEP_MS + STEP_MS / 2, now: () => new Date(clock.at) };

let t: TestApp;
let issuer: string;
let client: { id: string; secret: string };

beforeAll(async () => {
  const port = await freePort();
  t = await startTestApp({
    port,
    now: clock.now,
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      TRUSTED_ORIGINS: ORIGIN,
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      RATE_LIMIT_SIGN_IN_POINTS: '100',
      RATE_LIMIT_TWO_FACTOR_POINTS: '100',
    },
  });
  issuer = `${t.services.config.baseUrl}/api/auth/oauth2`;
  client = await registerClient(t, {
    name: 'Partner App',
    redirectUris: [REDIRECT],
    scopes: ['openid', 'email', 'projects:read'],
  });
});
afterAll(async () => {
  await t?.close();
});

function codeAt(uri: string, steps = 0): string {
  const key = decodeBase32IgnorePadding(new URL(uri).searchParams.get('secret')!);
  return generateHOTP(key, BigInt(Math.floor(clock.at / STEP_MS) + steps), 6);
}

interface TwoFactorUser extends SignedUp {
  uri: string;
  backupCodes: string[];
}

/** A user with two-factor on; the clock then moves a step on (confirm spent the current one). */
async function twoFactorUser(): Promise<TwoFactorUser> {
  const user = await signUp(t);
  const enabled = await postJson(t, '/api/auth/two-factor/enable', { password: user.password }, user.cookie);
  const { totpURI, backupCodes } = enabled.body.data;
  const confirmed = await postJson(t, '/api/auth/two-factor/confirm', { code: codeAt(totpURI) }, user.cookie);
  expect(confirmed.status).toBe(200);
  clock.at += STEP_MS;
  return { ...user, uri: totpURI, backupCodes };
}

const authorize = () =>
  authorizationRequest(`${issuer}/authorize`, { client_id: client.id, redirect_uri: REDIRECT, scope: 'openid' });

/** A browser without JavaScript at the code form: the page's response, URL and HTML. */
async function atCodeForm(user: SignedUp) {
  const b = cookieBrowser(t.services.config.baseUrl);
  const signInPage = await b.follow((await authorize()).url);
  const form = await formPost(b, `${signInPage.url}/login`, {
    csrf: csrfOf(await signInPage.res.text()),
    email: user.email,
    password: user.password,
  });
  return { b, uid: signInPage.url, res: form.res, html: await form.res.text() };
}

const methodsOfSessions = async (userId: string) =>
  (
    await t.services.orm.em
      .fork()
      .getConnection()
      .execute<{ auth_methods: string[] }[]>('select auth_methods from sessions where user_id = ? order by id', [
        userId,
      ])
  ).map((r) => r.auth_methods);

describe('the code form, posted without a browser', () => {
  it('comes after the password, with no session yet; the right code goes on to consent and a code', async () => {
    const user = await twoFactorUser();
    const { b, uid, res, html } = await atCodeForm(user);
    expect(res.status).toBe(200);
    expect(html).toContain('<title>Two-factor authentication');
    expect(html).toContain(`action="${new URL(uid).pathname}/two-factor"`);
    expect(html).not.toContain('<script');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(b.cookies.get('two_factor_challenge')).toBeTruthy();
    expect(b.cookies.has('session')).toBe(false);

    const wrong = await formPost(b, `${uid}/two-factor`, { csrf: csrfOf(html), code: codeAt(user.uri, 4) });
    expect(wrong.res.status).toBe(401);
    const again = await wrong.res.text();
    expect(again).toContain('That code is wrong or was already used.');
    expect(b.cookies.has('session')).toBe(false);

    const right = await formPost(b, `${uid}/two-factor`, { csrf: csrfOf(again), code: codeAt(user.uri) });
    expect(right.res.status).toBe(200);
    const consent = await right.res.text();
    expect(consent).toContain('<title>Authorize access');
    expect(b.cookies.get('session')).toBeTruthy();
    expect(b.cookies.has('two_factor_challenge')).toBe(false);
    const approved = await formPost(b, `${right.url}/confirm`, { csrf: csrfOf(consent) });
    expect(new URL(approved.url).searchParams.get('code')).toBeTruthy();
    expect((await methodsOfSessions(user.userId)).at(-1)).toEqual(['pwd', 'otp']);
  });

  it('takes a backup code instead', async () => {
    const user = await twoFactorUser();
    const { b, uid, html } = await atCodeForm(user);
    const used = await formPost(b, `${uid}/two-factor`, { csrf: csrfOf(html), backupCode: user.backupCodes[0]! });
    expect(await used.res.text()).toContain('<title>Authorize access');
    expect((await methodsOfSessions(user.userId)).at(-1)).toEqual(['pwd', 'backup']);
  });

  it('refuses a post without the form CSRF token, spending no try', async () => {
    const user = await twoFactorUser();
    const { b, uid, html } = await atCodeForm(user);
    for (const csrf of [undefined, '', 'forged', csrfOf(html).slice(1)]) {
      const fields: Record<string, string> = { code: codeAt(user.uri) };
      if (csrf !== undefined) fields.csrf = csrf;
      const refused = await formPost(b, `${uid}/two-factor`, fields);
      expect(refused.res.status).toBe(403);
      expect(await refused.res.text()).toContain('The form has expired');
    }
    expect(b.cookies.has('session')).toBe(false);
    const [row] = await t.services.orm.em
      .fork()
      .getConnection()
      .execute('select attempts from sign_in_challenges where user_id = ?', [user.userId]);
    expect(row?.attempts).toBe(0);
    const right = await formPost(b, `${uid}/two-factor`, { csrf: csrfOf(html), code: codeAt(user.uri) });
    expect(await right.res.text()).toContain('<title>Authorize access');
  });

  it('asks again for a malformed code, and sends a dead challenge back to the start', async () => {
    const user = await twoFactorUser();
    const { b, uid, html } = await atCodeForm(user);
    const csrf = csrfOf(html);
    const malformed = await formPost(b, `${uid}/two-factor`, { csrf, code: '12\u00003456' });
    expect(malformed.res.status).toBe(400);
    expect(await malformed.res.text()).toContain('Enter the 6-digit code');
    for (let i = 0; i < 5; i++) {
      expect((await formPost(b, `${uid}/two-factor`, { csrf, code: codeAt(user.uri, 5) })).res.status).toBe(401);
    }
    const dead = await formPost(b, `${uid}/two-factor`, { csrf, code: codeAt(user.uri) });
    expect(dead.res.status).toBe(401);
    expect(await dead.res.text()).toContain('sign in again');
    expect(b.cookies.has('session')).toBe(false);
  });

  it('needs the challenge cookie the password step set', async () => {
    const user = await twoFactorUser();
    const { b, uid, html } = await atCodeForm(user);
    b.cookies.delete('two_factor_challenge');
    const res = await formPost(b, `${uid}/two-factor`, { csrf: csrfOf(html), code: codeAt(user.uri) });
    expect(res.res.status).toBe(401);
    expect(await res.res.text()).toContain('sign in again');
    expect(b.cookies.has('session')).toBe(false);
  });
});

/** The client's site is not on this machine: the URL the browser is sent to is what it would receive. */
function watchForTheClient(page: Page): () => string | undefined {
  let seen: string | undefined;
  page.on('request', (request) => {
    if (request.url().startsWith(REDIRECT)) seen = request.url();
  });
  return () => seen;
}

describe.skipIf(!hasChromium)('the code form in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('signs in with the password and a code, approves, and the client gets tokens for the user', async () => {
    const user = await twoFactorUser();
    const config = await oidc.discovery(
      new URL(issuer),
      client.id,
      client.secret,
      oidc.ClientSecretBasic(client.secret),
      {
        execute: [oidc.allowInsecureRequests],
      },
    );
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid email projects:read',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const callback = watchForTheClient(page);

    await page.goto(url.toString());
    await expect.poll(() => page.title()).toBe('Sign in');
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await expect.poll(() => page.title()).toBe('Two-factor authentication');
    expect(await page.textContent('main')).toContain('Partner App');
    await page.getByLabel('Code from your authenticator app').fill(codeAt(user.uri, 3));
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect.poll(() => page.textContent('main')).toContain('That code is wrong');
    await page.getByLabel('Code from your authenticator app').fill(codeAt(user.uri));
    await page.getByRole('button', { name: 'Verify' }).click();

    await expect.poll(() => page.title()).toBe('Authorize access');
    await page.getByRole('button', { name: 'Allow' }).click();
    await expect.poll(callback).toBeDefined();
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback()!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()?.sub).toBe(user.userId);
    await context.close();
  });
});
