/**
 * Social sign-in in a real browser (Debian's chromium, playwright-core): from the app's start URL to
 * the upstream provider's own login page (node-oidc-provider on another origin), and back through the
 * callback to the callbackURL, signed in. Skipped, and said so, where chromium is absent.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium.js';
import { uniqueEmail } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { startUpstreamOidc, type UpstreamOidc } from '../support/upstream-oidc.js';

if (!hasChromium) {
  console.log(`[tests] ${CHROMIUM} is missing: the social sign-in browser test is skipped (.ci/run installs it)`);
}

describe.skipIf(!hasChromium)('social sign-in in chromium', () => {
  let t: TestApp;
  let upstream: UpstreamOidc;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    // localhost is a secure context for chromium, so the service's Secure cookies are kept over http.
    base = `http://localhost:${port}`;
    upstream = await startUpstreamOidc({
      clients: [
        { client_id: 'app', client_secret: 'secret', redirect_uris: [`${base}/api/auth/social/google/callback`] },
      ],
    });
    t = await startTestApp({
      port,
      env: {
        BASE_URL: base,
        APP_URL: base,
        GOOGLE_CLIENT_ID: 'app',
        GOOGLE_CLIENT_SECRET: 'secret',
        GOOGLE_ISSUER: upstream.issuer,
      },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await upstream?.stop();
  });

  it('signs in at the provider page and lands on the callbackURL with a session', async () => {
    const email = uniqueEmail('chromium');
    upstream.setAccount({ sub: 'browser-user', email, email_verified: true, name: 'Browser User' });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const landing = `${base}/api/auth/session`;
      await page.goto(`${base}/api/auth/social/google?callbackURL=${encodeURIComponent(landing)}`);
      await page.waitForURL((url) => url.origin === upstream.issuer && url.pathname.startsWith('/interaction/'));
      await page.fill('input[name="login"]', 'browser-user');
      await page.fill('input[name="password"]', 'anything');
      await Promise.all([page.waitForURL(landing), page.click('button[type="submit"]')]);

      const session = JSON.parse((await page.textContent('body')) ?? '{}');
      expect(session.data.user.email).toBe(email);
      const cookies = await context.cookies(base);
      expect(cookies.find((c) => c.name === 'session')).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    } finally {
      await context.close();
    }
  });
});
