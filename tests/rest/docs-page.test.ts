/**
 * The /api/docs reference page loads nothing from another origin: its script comes from the
 * installed npm package on the API's own origin, its CSP names no third party, and it renders in a
 * browser that cannot reach the internet. The browser half is skipped, and said so, where chromium
 * is absent (`.ci/run` installs it).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium.js';

if (!hasChromium)
  console.log(`[tests] ${CHROMIUM} is missing: the docs page's browser test is skipped (.ci/run installs it)`);

/** Operation summaries from the OpenAPI document: the first tag's, shown open, and one under "auth". */
const FIRST_SUMMARY = 'Service health';
const RENDERED_SUMMARY = 'Sign in with email and password';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** Every URL a tag of `name` loads through `attribute`, resolved against the page. */
function urlsOf(html: string, name: string, attribute: string, pageUrl: string): URL[] {
  const tags = html.match(new RegExp(`<${name}\\b[^>]*>`, 'gi')) ?? [];
  return tags.flatMap((tag) => {
    const value = new RegExp(`\\b${attribute}\\s*=\\s*["']([^"']*)["']`, 'i').exec(tag)?.[1];
    return value === undefined ? [] : [new URL(value, pageUrl)];
  });
}

describe('GET /api/docs over HTTP', () => {
  it('loads its scripts and styles from its own origin only', async () => {
    const res = await fetch(`${t.url}/api/docs`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const scripts = urlsOf(html, 'script', 'src', res.url);
    expect(scripts.length).toBeGreaterThan(0);
    for (const url of [...scripts, ...urlsOf(html, 'link', 'href', res.url)]) expect(url.origin, url.href).toBe(t.url);
    expect(html).not.toMatch(/cdn\.jsdelivr\.net|unpkg\.com/);
  });

  it('has a Content-Security-Policy that names no other origin', async () => {
    const res = await fetch(`${t.url}/api/docs`);
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((d) => d[0])
        .map(([name, ...sources]) => [name!, sources]),
    );
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('default-src')).toEqual(["'self'"]);
    for (const [name, sources] of directives) {
      for (const source of sources)
        expect(source, `${name} ${source}`).toMatch(/^('[\w-]+'|'sha(256|384|512)-[\w+/=]+'|data:)$/);
    }
    expect(directives.get('script-src')).toEqual(["'self'"]);
  });

  it('serves its script as JavaScript, cached for long, spending the global budget', async () => {
    const page = await fetch(`${t.url}/api/docs`);
    const [script] = urlsOf(await page.text(), 'script', 'src', page.url);
    expect(script).toBeDefined();
    const res = await fetch(script!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^(application|text)\/javascript/);
    expect(Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1])).toBeGreaterThanOrEqual(86_400);
    expect(res.headers.get('ratelimit-remaining')).not.toBeNull();
    expect(await res.text()).toContain('createApiReference');
  });
});

describe.skipIf(!hasChromium)('GET /api/docs in chromium without internet access', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('renders the reference and its request client with every request to another origin refused, and makes none', async () => {
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === t.url || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      elsewhere.push(url);
      return route.abort('internetdisconnected');
    });
    // A load the CSP stops never reaches the network, so it is counted here.
    await page.addInitScript({
      content:
        "window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.effectiveDirective + ' ' + e.blockedURI));",
    });

    await page.goto(`${t.url}/api/docs`);
    await page.getByText(FIRST_SUMMARY).first().waitFor({ state: 'visible', timeout: 45_000 });
    await page.getByRole('button', { name: 'auth' }).first().click();
    await page.getByText(RENDERED_SUMMARY).first().waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Test Request' }).first().click();
    await page.getByRole('button', { name: 'Send' }).first().waitFor({ state: 'visible' });

    expect(elsewhere).toEqual([]);
    // The bundled zod probes for `new Function` and works without it when the CSP refuses.
    const violations = (await page.evaluate('window.cspViolations')) as string[];
    expect(violations.filter((v) => v !== 'script-src eval')).toEqual([]);
    await page.close();
  }, 90_000);
});
