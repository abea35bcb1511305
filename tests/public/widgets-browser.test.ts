/**
 * A published widget fetched by a customer's page in Debian's chromium: the page is served from
 * another origin (a small node:http server), its script reads the widget cross-origin, its JSON and
 * its ETag (exposed by CORS), then fetches it again and gets it through the browser's HTTP cache,
 * revalidated with If-None-Match and answered 304 by the service. Skipped where chromium is absent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { hasChromium, launchChromium } from '../support/chromium.js';
import { createProject, formOwner } from '../support/forms.js';
import { postJson } from '../support/identity.js';
import { captureLog, type CapturedLog } from '../support/logs.js';
import { freePort } from '../support/net.js';
import { insertForm, WIDGET_FORM_FIELDS } from '../support/widgets.js';

if (!hasChromium) console.log('[tests] chromium is missing: the widget browser test is skipped (.ci/run installs it)');

/**
 * The customer's page: fetches the widget, again asking the cache to revalidate, and a third time
 * as a page normally does.
 */
const page = (widgetUrl: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>Customer site</title></head>
<body><div id="widget"></div>
<script>
  window.result = (async () => {
    const first = await fetch(${JSON.stringify(widgetUrl)});
    const body = await first.json();
    document.getElementById('widget').textContent = body.data.config.title;
    const again = await fetch(${JSON.stringify(widgetUrl)}, { cache: 'no-cache' });
    const againBody = await again.json();
    // Within max-age the browser answers from its cache, without asking the service.
    const cached = await fetch(${JSON.stringify(widgetUrl)});
    return {
      cachedStatus: cached.status,
      status: first.status,
      etag: first.headers.get('ETag'),
      cacheControl: first.headers.get('Cache-Control'),
      data: body.data,
      againStatus: again.status,
      againEtag: again.headers.get('ETag'),
      againSame: JSON.stringify(againBody) === JSON.stringify(body),
    };
  })();
</script></body></html>`;

describe.skipIf(!hasChromium)('a widget embedded on another origin, in chromium', () => {
  let t: TestApp;
  let log: CapturedLog;
  let browser: Browser;
  let site: Server;
  let widgetId: string;
  let formId: string;

  beforeAll(async () => {
    const port = await freePort();
    log = captureLog('info');
    t = await startTestApp({
      port,
      log: log.log,
      env: {
        BASE_URL: `http://127.0.0.1:${port}`,
        TRUSTED_ORIGINS: 'http://localhost:3000',
        TRUST_PROXY: 'loopback',
        RATE_LIMIT_SIGN_UP_POINTS: '100',
      },
    });
    const owner = await formOwner(t);
    const projectId = await createProject(t, owner);
    formId = await insertForm(t, { organizationId: owner.organizationId, projectId });
    const created = await postJson(
      t,
      `/api/user/organizations/${owner.organizationId}/projects/${projectId}/widgets`,
      { name: 'Footer', type: 'signup-form', published: true, config: { formId, title: 'Join the beta' } },
      owner.cookie,
    );
    expect(created.status).toBe(201);
    widgetId = created.body.data.id;

    site = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(page(`${t.url}/api/public/widgets/${widgetId}`));
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => site?.close(resolve));
    await t?.close();
  });

  it('reads the widget and its ETag cross-origin, then gets it again through a 304 and from the cache', async () => {
    // Another origin than the API's: another host name and port.
    const origin = `http://localhost:${(site.address() as AddressInfo).port}`;
    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(origin);
    const result = await tab.evaluate(() => (globalThis as unknown as { result: Promise<any> }).result);
    await context.close();

    expect(result).toMatchObject({
      status: 200,
      cacheControl: 'public, max-age=60',
      data: {
        id: widgetId,
        type: 'signup-form',
        config: { title: 'Join the beta' },
        form: { id: formId, fields: WIDGET_FORM_FIELDS, honeypotField: 'website_url' },
      },
      againStatus: 200,
      againSame: true,
      cachedStatus: 200,
    });
    expect(result.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(result.againEtag).toBe(result.etag);

    // The service saw the second fetch as a revalidation and answered it without a body; the third
    // never reached it.
    const seen = log
      .lines()
      .filter((line) => line.msg === 'request finished' && line.url === `/api/public/widgets/${widgetId}`)
      .map((line) => line.status);
    expect(seen).toEqual([200, 304]);
  });
});
