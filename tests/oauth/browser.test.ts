/**
 * The sign-in and consent pages in a real browser (Debian's chromium driven by playwright-core):
 * what a user sees and clicks, end to end to tokens. Skipped, and said so, where chromium is absent
 * (`.ci/run` installs it).
 */
import { existsSync } from 'node:fs';
import * as oidc from 'openid-client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signUp, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { registerClient } from '../support/oauth.js';

const CHROMIUM = '/usr/bin/chromium';
const REDIRECT = 'https://client.example/callback';
if (!existsSync(CHROMIUM))
  console.log(`[tests] ${CHROMIUM} is missing: the browser tests are skipped (.ci/run installs it)`);

/**
 * The client's site is not on this machine: the flow ends when the browser is sent there, so the
 * URL it was sent to (a redirect hop, seen as a request) is what the client would receive.
 */
function watchForTheClient(page: Page): () => string | undefined {
  let seen: string | undefined;
  page.on('request', (request) => {
    if (request.url().startsWith(REDIRECT)) seen = request.url();
  });
  return () => seen;
}

describe.skipIf(!existsSync(CHROMIUM))('the sign-in and consent pages in chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let user: SignedUp;
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
      },
    });
    user = await signUp(t);
    const client = await registerClient(t, {
      name: 'Browser Partner',
      redirectUris: [REDIRECT],
      scopes: ['openid', 'email', 'projects:read'],
    });
    config = await oidc.discovery(
      new URL(`${t.services.config.baseUrl}/api/auth/oauth2`),
      client.id,
      client.secret,
      oidc.ClientSecretBasic(client.secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lets a user sign in, approve, and the client exchange the code', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid email projects:read',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const page = await browser.newPage();
    const callback = watchForTheClient(page);

    await page.goto(url.toString());
    await expect.poll(() => page.title()).toBe('Sign in');
    expect(await page.textContent('main')).toContain('Browser Partner');
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await expect.poll(() => page.title()).toBe('Authorize access');
    const consent = await page.textContent('main');
    expect(consent).toContain('Read your projects');
    expect(consent).toContain('See your email address');
    await page.getByRole('button', { name: 'Allow' }).click();

    await expect.poll(callback).toBeDefined();
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback()!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()?.sub).toBe(user.userId);
    await page.close();
  });

  it('sends a user who denies back to the client with access_denied', async () => {
    const page = await browser.newContext().then((context) => context.newPage());
    const callback = watchForTheClient(page);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid projects:read',
      state: 'deny-state',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    await page.goto(url.toString());
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Deny' }).click();
    await expect.poll(callback).toBeDefined();
    expect(new URL(callback()!).searchParams.get('error')).toBe('access_denied');
  });
});
