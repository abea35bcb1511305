/**
 * The pages of mail links in a real browser with JavaScript off (Debian's chromium driven by
 * playwright-core): the link from the .eml file is opened, the forms are filled and clicked, and the
 * browser's own cookies and Origin header carry the CSRF token and the session. Skipped, and said so,
 * where chromium is absent (`.ci/run` installs it).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberSchema } from '../../entities/organization.js';
import { UserSchema } from '../../entities/user.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium.js';
import { ORIGIN, postJson, signUp, uniqueEmail } from '../support/identity.js';
import { linksInMailFile } from '../support/mail.js';
import { freePort } from '../support/net.js';
import { defaultOrganizationId } from '../support/tenancy.js';

if (!hasChromium)
  console.log(
    `[tests] ${CHROMIUM} is missing: the browser tests of the mail-link pages are skipped (.ci/run installs it)`,
  );

describe.skipIf(!hasChromium)('the pages of mail links in chromium, without JavaScript', () => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    t = await startTestApp({
      port,
      env: { BASE_URL: base, TRUSTED_ORIGINS: `${base},${ORIGIN}`, RATE_LIMIT_SIGN_UP_POINTS: '100' },
    });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const db = () => t.services.orm.em.fork();

  async function mailedLink(to: string, subject: RegExp): Promise<string> {
    await t.services.mailer.idle();
    return (await linksInMailFile(t.services.config.mailDir, to, subject))[0]!;
  }

  async function page(): Promise<Page> {
    const context = await browser.newContext({ javaScriptEnabled: false });
    return context.newPage();
  }

  it('verifies an email address with one click', async () => {
    const user = await signUp(t, { verified: false });
    const tab = await page();
    await tab.goto(await mailedLink(user.email, /Verify/));
    expect((await db().findOneOrFail(UserSchema, { id: user.userId })).verifiedAt).toBeNull();
    await tab.getByRole('button', { name: 'Verify my email address' }).click();
    await expect.poll(() => tab.locator('h1').textContent()).toBe('Email address verified');
    expect((await db().findOneOrFail(UserSchema, { id: user.userId })).verifiedAt).not.toBeNull();
    await tab.context().close();
  });

  it('signs the invitee in on the invitation page and accepts the invitation', async () => {
    const boss = await signUp(t, { email: uniqueEmail('owner') });
    const organizationId = await defaultOrganizationId(t, boss.userId);
    const invitee = await signUp(t, { email: uniqueEmail('invitee') });
    expect(
      (
        await postJson(
          t,
          `/api/user/organizations/${organizationId}/invites`,
          { email: invitee.email, role: 'member' },
          boss.cookie,
        )
      ).status,
    ).toBe(201);

    const tab = await page();
    await tab.goto(await mailedLink(invitee.email, /invited/));
    await tab.getByLabel('Email').fill(invitee.email);
    await tab.getByLabel('Password').fill(invitee.password);
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await tab.getByRole('button', { name: 'Accept the invitation' }).click();
    await expect.poll(() => tab.locator('h1').textContent()).toBe('Invitation accepted');
    expect(await db().findOne(MemberSchema, { organizationId, userId: invitee.userId })).toMatchObject({
      role: 'member',
    });
    await tab.context().close();
  });
});
