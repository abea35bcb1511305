/**
 * A customer's site submitting a public form from Debian's chromium: a plain HTML page served from
 * another origin (a small node:http server on loopback) posts the form as browsers do, without a
 * line of script, and a script on the same page posts JSON with fetch (CORS). Skipped, and said so,
 * where chromium is absent (`.ci/run` installs it).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormSubmissionSchema } from '../../entities/form.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium.js';
import { createForm, createProject, formOwner } from '../support/forms.js';
import { freePort } from '../support/net.js';

if (!hasChromium) console.log(`[tests] ${CHROMIUM} is missing: the browser tests are skipped (.ci/run installs it)`);

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page a customer would write for the form: its fields, and the honeypot hidden from people. */
function signUpPage(form: { submitUrl: string; honeypotField: string }): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Join us</title></head><body>
<form id="signup" method="post" action="${escapeHtml(form.submitUrl)}">
  <label>Email <input name="email" type="email" required></label>
  <label>Name <input name="fullName"></label>
  <label>Age <input name="age" type="number"></label>
  <label>Plan <select name="plan"><option>free</option><option>pro</option></select></label>
  <label><input name="newsletter" type="checkbox"> Newsletter</label>
  <label>Message <textarea name="message"></textarea></label>
  <input name="${escapeHtml(form.honeypotField)}" tabindex="-1" autocomplete="off" style="position:absolute;left:-10000px">
  <button type="submit">Sign up</button>
</form>
</body></html>`;
}

describe.skipIf(!hasChromium)('a public form submitted from a page in chromium', () => {
  let t: TestApp;
  let site: Server;
  let siteUrl: string;
  let browser: Browser;
  let form: any;

  beforeAll(async () => {
    const port = await freePort();
    t = await startTestApp({
      port,
      env: { BASE_URL: `http://localhost:${port}`, TRUSTED_ORIGINS: 'http://localhost:3000', TRUST_PROXY: 'loopback' },
    });
    const owner = await formOwner(t);
    form = await createForm(t, owner, await createProject(t, owner));
    site = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(signUpPage(form));
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => site?.close(resolve));
    await t?.close();
  });

  const submissions = () => t.services.orm.em.fork().find(FormSubmissionSchema, { formId: form.id });

  it('stores what a plain HTML form posts, with the address and the browser’s user agent', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(siteUrl);
      expect(new URL(page.url()).origin).not.toBe(new URL(form.submitUrl).origin);
      await page.fill('input[name=email]', 'browser@example.com');
      await page.fill('input[name=fullName]', 'Ada Lovelace');
      await page.fill('input[name=age]', '36');
      await page.selectOption('select[name=plan]', 'pro');
      await page.check('input[name=newsletter]');
      await page.fill('textarea[name=message]', 'First line\nsecond line');
      const userAgent = await page.evaluate<string>('navigator.userAgent');
      const [answer] = await Promise.all([
        page.waitForResponse((response) => response.url() === form.submitUrl),
        page.click('button[type=submit]'),
      ]);
      expect(answer.status()).toBe(201);
      const body = await answer.json();
      expect(body).toMatchObject({ success: true, code: 'OK', message: 'Submission received' });

      const [row] = (await submissions()).filter((s) => s.id === body.data.id);
      expect(row).toMatchObject({
        ip: '127.0.0.1',
        userAgent,
        data: {
          email: 'browser@example.com',
          fullName: 'Ada Lovelace',
          age: 36,
          plan: 'pro',
          newsletter: true,
          // A textarea's line breaks travel as CRLF in a form post.
          message: 'First line\r\nsecond line',
        },
      });
    } finally {
      await page.close();
    }
  });

  it('takes JSON from a script on the page (CORS), and drops what fills the honeypot', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(siteUrl);
      const post = (data: Record<string, unknown>): Promise<{ status: number; body: any }> =>
        page.evaluate(
          async ({ url, data }) => {
            const response = await fetch(url, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify(data),
            });
            return { status: response.status, body: await response.json() };
          },
          { url: form.submitUrl, data },
        );
      const before = (await submissions()).length;
      const stored = await post({ email: 'script@example.com', newsletter: false });
      expect(stored).toMatchObject({ status: 201, body: { success: true } });
      const refused = await post({ email: 'script@example.com', admin: true });
      expect(refused).toMatchObject({
        status: 400,
        body: { code: 'VALIDATION_ERROR', meta: { errors: [{ field: 'admin', error: 'Unknown field' }] } },
      });
      const bot = await post({ email: 'bot@example.com', [form.honeypotField]: 'http://spam.example' });
      expect(bot).toMatchObject({ status: 201, body: { success: true } });
      const rows = await submissions();
      expect(rows).toHaveLength(before + 1);
      expect(rows.find((s) => s.id === stored.body.data.id)?.data).toMatchObject({ email: 'script@example.com' });
    } finally {
      await page.close();
    }
  });
});
