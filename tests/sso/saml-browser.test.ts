/**
 * One SSO sign-in in a real browser (Debian's chromium): the link from discovery, the IdP's page on
 * another site posting the signed response to the ACS by a self-submitting form (the SAML POST
 * binding, cross-site), and the application page signed in by the cookie the ACS set.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium.js';
import { signUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { startSamlIdp, type SamlIdp } from '../support/saml-idp.js';
import { createSsoConnection, uniqueDomain } from '../support/sso-connections.js';
import { defaultOrganizationId } from '../support/tenancy.js';

if (!hasChromium) {
  console.log(`[tests] ${CHROMIUM} is missing: the SSO browser test is skipped (.ci/run installs it)`);
}

describe.runIf(hasChromium)('SAML sign-in in chromium', () => {
  let t: TestApp;
  let idp: SamlIdp;
  let browser: Browser;
  let baseUrl: string;
  let domain: string;
  let organizationId: string;

  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    t = await startTestApp({
      port,
      env: { BASE_URL: baseUrl, APP_URL: baseUrl, TRUSTED_ORIGINS: baseUrl, RATE_LIMIT_SIGN_IN_POINTS: '1000' },
    });
    // The IdP's pages are on another site (localhost) than the application (127.0.0.1).
    idp = await startSamlIdp({ host: 'localhost' });
    const owner = await signUp(t);
    organizationId = await defaultOrganizationId(t, owner.userId);
    domain = uniqueDomain();
    await createSsoConnection(t, {
      type: 'saml',
      organizationId,
      domains: [domain],
      idpEntityId: idp.entityId,
      ssoUrl: idp.ssoUrl,
      certificates: [idp.keys.certificatePem],
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await idp?.close();
  });

  it('goes from the discovery link through the IdP’s auto-posting page to the app, signed in', async () => {
    const email = `ada@${domain}`;
    idp.signInAs({ email, name: 'Ada Lovelace' });
    const discovered = await t.request(`/api/auth/sso/discover?email=${encodeURIComponent(email)}`);
    expect(discovered.body.data.found).toBe(true);
    const link = new URL(discovered.body.data.redirectUrl);
    const landing = `${baseUrl}/api/auth/session`;
    link.searchParams.set('callbackURL', landing);

    const page = await browser.newPage();
    const visited: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest()) visited.push(`${request.method()} ${request.url().split('?')[0]}`);
    });
    await page.goto(link.href);
    await page.waitForURL(landing, { timeout: 45_000 }).catch(async (error: Error) => {
      throw new Error(`stuck at ${page.url()} after ${visited.join(', ')}: ${(await page.content()).slice(0, 500)}`, {
        cause: error,
      });
    });
    const session = JSON.parse((await page.textContent('body')) ?? '');
    expect(session.data.user).toMatchObject({ email, fullName: 'Ada Lovelace' });
    expect(visited).toEqual([
      `GET ${baseUrl}/api/auth/sso/sign-in`,
      `GET ${idp.ssoUrl}`,
      `POST ${baseUrl}/api/auth/sso/${discovered.body.data.providerId}/acs`,
      `GET ${landing}`,
    ]);
    const [member] = await t.services.orm.em
      .fork()
      .getConnection()
      .execute(
        'select m.role from members m join users u on u.id = m.user_id where u.email = ? and m.organization_id = ?',
        [email, organizationId],
      );
    expect(member).toEqual({ role: 'member' });
    await page.close();
  }, 60_000);
});
