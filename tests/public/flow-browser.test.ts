/**
 * The public tier end to end, as a customer uses it: over REST an owner makes an active project, a
 * sign-up form and a signup-form widget; a page on another origin holding exactly the README's snippet
 * ("Paste this into a site") is opened in Debian's chromium, which tracks a page view with the
 * publishable key, reads the widget cross-origin, renders its form and submits it; then the owner
 * reads the submission, the events and the stats over REST. Skipped where chromium is absent.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { hasChromium, launchChromium } from '../support/chromium.js';
import { createProject, formOwner, type Owner } from '../support/forms.js';
import { asBrowser, postJson } from '../support/identity.js';
import { freePort } from '../support/net.js';

/** The README's snippet, as a customer copies it. */
function readmeSnippet(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('```html\n<!-- 1. Page views.');
  if (start === -1) throw new Error('the README lost its "Paste this into a site" snippet');
  const body = readme.slice(start + '```html\n'.length);
  return body.slice(0, body.indexOf('```'));
}

describe.skipIf(!hasChromium)('a customer site with the README snippet, in chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let site: Server;
  let owner: Owner;
  let projectBase: string;
  let formId: string;

  const get = (path: string) => t.request(`${projectBase}${path}`, { headers: asBrowser(owner.cookie) });

  beforeAll(async () => {
    const port = await freePort();
    t = await startTestApp({
      port,
      env: { BASE_URL: `http://127.0.0.1:${port}`, TRUSTED_ORIGINS: 'http://localhost:3000' },
    });
    owner = await formOwner(t);
    const projectId = await createProject(t, owner);
    projectBase = `/api/user/organizations/${owner.organizationId}/projects/${projectId}`;
    const project = await t.request(projectBase, { headers: asBrowser(owner.cookie) });
    const form = await postJson(
      t,
      `${projectBase}/forms`,
      {
        name: 'Beta list',
        published: true,
        fields: [
          { name: 'email', label: 'Email', type: 'email', required: true },
          { name: 'fullName', label: 'Name', type: 'text', maxLength: 100 },
          { name: 'plan', label: 'Plan', type: 'select', options: ['free', 'pro'] },
        ],
      },
      owner.cookie,
    );
    expect(form.status).toBe(201);
    formId = form.body.data.id;
    const widget = await postJson(
      t,
      `${projectBase}/widgets`,
      {
        name: 'Footer sign-up',
        type: 'signup-form',
        published: true,
        config: { formId, title: 'Join the beta', successMessage: 'Welcome aboard' },
      },
      owner.cookie,
    );
    expect(widget.status).toBe(201);

    const page = `<!doctype html><html><head><meta charset="utf-8"><title>Landing</title></head><body>
${readmeSnippet()
  .replaceAll("'http://localhost:3000/api'", JSON.stringify(`${t.url}/api`))
  .replace('pk_REPLACE_ME', project.body.data.publishableKey)
  .replace('WIDGET_ID_REPLACE_ME', widget.body.data.id)}
</body></html>`;
    site = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(page);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => site?.close(resolve));
    await t?.close();
  });

  it('tracks the page view, renders and submits the widget’s form, and the owner reads it all back', async () => {
    // Another origin than the API's: another host name and port.
    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(`http://localhost:${(site.address() as AddressInfo).port}/pricing`);

    // The widget, read cross-origin, became a form with the fields and the hidden honeypot.
    await tab.waitForSelector('#signup form input[name="email"]');
    expect(await tab.textContent('#signup h3')).toBe('Join the beta');
    expect(await tab.locator('#signup input[name="website_url"]').getAttribute('tabindex')).toBe('-1');
    await tab.fill('#signup input[name="email"]', 'ada@example.com');
    await tab.fill('#signup input[name="fullName"]', 'Ada Lovelace');
    await tab.selectOption('#signup select[name="plan"]', 'pro');
    await tab.click('#signup button');
    await tab.locator('#signup p', { hasText: 'Welcome aboard' }).waitFor();

    // A second event from the page's own track(), as the site would call it on a click.
    const status = await tab.evaluate(async () => {
      const track = (globalThis as unknown as { track: (n: string, p: object) => Promise<Response> }).track;
      return (await track('signup_click', { plan: 'pro' })).status;
    });
    expect(status).toBe(202);
    const anonymousId = await tab.evaluate<string | null>("localStorage.getItem('anonymousId')");
    await context.close();

    const submissions = await get(`/forms/${formId}/submissions`);
    expect(submissions.body.data).toHaveLength(1);
    expect(submissions.body.data[0]).toMatchObject({
      data: { email: 'ada@example.com', fullName: 'Ada Lovelace', plan: 'pro' },
      ip: '127.0.0.1',
    });
    expect(submissions.body.data[0].userAgent).toContain('Chrome');

    // The page view went out with keepalive, unawaited: wait until it is stored too.
    let events = await get('/events');
    for (let tries = 0; events.body.data?.length < 2 && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      events = await get('/events');
    }
    expect(events.status).toBe(200);
    expect(events.body.data.map((e: { name: string; anonymousId: string }) => [e.name, e.anonymousId]).sort()).toEqual([
      ['page_view', anonymousId],
      ['signup_click', anonymousId],
    ]);
    const pageView = events.body.data.find((e: { name: string }) => e.name === 'page_view');
    expect(pageView.properties).toMatchObject({ path: '/pricing', title: 'Landing' });

    const stats = await get('/stats?interval=hour');
    expect(stats.status).toBe(200);
    expect(stats.body.data.totals.events).toBe(2);
    // Both events fell in the current hour (or, at the turn of an hour, in the last two).
    const counted = stats.body.data.buckets.filter((b: { events: number }) => b.events > 0);
    expect(counted.length).toBeGreaterThan(0);
    for (const bucket of counted) expect(bucket.uniqueVisitors).toBe(1);
    expect(stats.body.data.topEvents.map((e: { name: string }) => e.name).sort()).toEqual([
      'page_view',
      'signup_click',
    ]);
  });
});
