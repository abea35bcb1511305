/**
 * Passkeys in a real browser: Debian's chromium driven by playwright-core, with the Chrome DevTools
 * WebAuthn virtual authenticator (CTAP2, internal transport, resident keys, user verification) in
 * place of a platform authenticator. A small test page, served by the test on the service's own
 * origin (http://localhost:<port>, which is BASE_URL, so the RP ID is `localhost`), calls the API and
 * navigator.credentials.create/get as a frontend would. Skipped, and said so, where chromium is absent.
 */
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionSchema } from '../../entities/session.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { CHROMIUM, hasChromium, launchChromium } from '../support/chromium.js';
import { PASSWORD, uniqueEmail } from '../support/identity.js';
import { freePort } from '../support/net.js';

if (!hasChromium) {
  console.log(`[tests] ${CHROMIUM} is missing: the passkey browser tests are skipped (.ci/run installs it)`);
}

/** What a frontend does: JSON options in, ArrayBuffers to the browser, the credential back as JSON. */
const TEST_PAGE = `<!doctype html>
<meta charset="utf-8"><title>passkeys</title>
<script>
const toBytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const toB64u = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
async function api(method, path, body) {
  const res = await fetch('/api' + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}
async function registerPasskey(name) {
  const options = (await api('POST', '/auth/passkey/register/options', {})).body.data;
  const credential = await navigator.credentials.create({
    publicKey: {
      ...options,
      challenge: toBytes(options.challenge),
      user: { ...options.user, id: toBytes(options.user.id) },
      excludeCredentials: (options.excludeCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
    },
  });
  const response = {
    id: credential.id,
    rawId: toB64u(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: {
      clientDataJSON: toB64u(credential.response.clientDataJSON),
      attestationObject: toB64u(credential.response.attestationObject),
      transports: credential.response.getTransports(),
    },
  };
  return api('POST', '/auth/passkey/register/verify', { response, name });
}
async function signInWithPasskey() {
  const options = (await api('POST', '/auth/passkey/authenticate/options', {})).body.data;
  const credential = await navigator.credentials.get({
    publicKey: { ...options, challenge: toBytes(options.challenge) },
  });
  const response = {
    id: credential.id,
    rawId: toB64u(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: {
      clientDataJSON: toB64u(credential.response.clientDataJSON),
      authenticatorData: toB64u(credential.response.authenticatorData),
      signature: toB64u(credential.response.signature),
      userHandle: credential.response.userHandle ? toB64u(credential.response.userHandle) : undefined,
    },
  };
  window.lastAssertion = response;
  return api('POST', '/auth/passkey/authenticate/verify', { response });
}
// What a frontend on a current browser does: the browser converts the JSON both ways.
async function registerNatively(name) {
  const options = (await api('POST', '/auth/passkey/register/options', {})).body.data;
  const credential = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
  });
  return api('POST', '/auth/passkey/register/verify', { response: credential.toJSON(), name });
}
async function signInNatively() {
  const options = (await api('POST', '/auth/passkey/authenticate/options', {})).body.data;
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
  });
  return api('POST', '/auth/passkey/authenticate/verify', { response: credential.toJSON() });
}
</script>`;

interface ApiAnswer {
  status: number;
  body: { code: string; data: any; meta: any };
}

describe.skipIf(!hasChromium)('passkeys in chromium with a virtual authenticator', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    t = await startTestApp({
      port,
      env: { BASE_URL: base, RATE_LIMIT_PASSKEY_POINTS: '100', RATE_LIMIT_SIGN_UP_POINTS: '100' },
    });
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    await page.route(`${base}/passkey-test`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: TEST_PAGE }),
    );
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    }));
    await page.goto(`${base}/passkey-test`);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const api = (method: string, path: string, body?: unknown): Promise<ApiAnswer> =>
    page.evaluate(([m, p, b]) => (globalThis as any).api(m, p, b), [method, path, body] as const);
  const sessionCookie = async () => (await context.cookies(base)).find((c) => c.name === 'session')?.value;

  it('registers a passkey, signs in with it without a username, deletes it, and then cannot sign in with it', async () => {
    const email = uniqueEmail('passkey');
    const signedUp = await api('POST', '/auth/sign-up/email', { email, password: PASSWORD, name: 'Grace Hopper' });
    expect(signedUp.status).toBe(201);
    const userId: string = signedUp.body.data.user.id;

    const registered: ApiAnswer = await page.evaluate(() => (globalThis as any).registerPasskey('Test laptop'));
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect(registered.body.data).toMatchObject({ name: 'Test laptop', lastUsedAt: null, backedUp: false });
    const passkeyId: string = registered.body.data.id;

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });

    const list = await api('GET', '/auth/passkey/list');
    expect(list.body.data.map((p: { id: string }) => p.id)).toEqual([passkeyId]);
    // The same authenticator cannot register the same account twice: the browser refuses (excludeCredentials).
    const twice = await page.evaluate(() =>
      (globalThis as any).registerPasskey('again').then(
        () => 'registered',
        (error: Error) => error.name,
      ),
    );
    expect(twice).toBe('InvalidStateError');

    expect((await api('POST', '/auth/sign-out', {})).status).toBe(200);
    expect((await api('GET', '/user/me')).status).toBe(401);

    const signedIn: ApiAnswer = await page.evaluate(() => (globalThis as any).signInWithPasskey());
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    expect(signedIn.body.data.user).toMatchObject({ id: userId, email });
    expect(await sessionCookie()).toBeDefined();
    expect((await api('GET', '/user/me')).body.data.id).toBe(userId);
    const session = await t.services.orm.em.fork().findOneOrFail(SessionSchema, { id: signedIn.body.data.session.id });
    expect(session.authMethods).toEqual(['webauthn']);
    // The browser's own assertion, posted again: its challenge is spent.
    const replayed = await page.evaluate(() =>
      (globalThis as any).api('POST', '/auth/passkey/authenticate/verify', {
        response: (globalThis as any).lastAssertion,
      }),
    );
    expect({ status: replayed.status, code: replayed.body.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    const used = await api('GET', '/auth/passkey/list');
    expect(used.body.data[0].lastUsedAt).not.toBeNull();

    expect((await api('DELETE', `/auth/passkey/${passkeyId}`, {})).body.code).toBe('REAUTHENTICATION_REQUIRED');
    const deleted = await api('DELETE', `/auth/passkey/${passkeyId}`, { password: PASSWORD });
    expect(deleted.status).toBe(200);
    expect((await api('GET', '/auth/passkey/list')).body.data).toEqual([]);

    expect((await api('POST', '/auth/sign-out', {})).status).toBe(200);
    const refused: ApiAnswer = await page.evaluate(() => (globalThis as any).signInWithPasskey());
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    expect(await sessionCookie()).toBeUndefined();
  });

  it('takes the JSON of PublicKeyCredential.toJSON() as current browsers send it', async () => {
    await cdp.send('WebAuthn.clearCredentials', { authenticatorId });
    await api('POST', '/auth/sign-out', {});
    const email = uniqueEmail('passkey-json');
    const signedUp = await api('POST', '/auth/sign-up/email', { email, password: PASSWORD, name: 'Ada Lovelace' });
    expect(signedUp.status).toBe(201);

    const registered: ApiAnswer = await page.evaluate(() => (globalThis as any).registerNatively('Native JSON'));
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect((await api('POST', '/auth/sign-out', {})).status).toBe(200);
    const signedIn: ApiAnswer = await page.evaluate(() => (globalThis as any).signInNatively());
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    expect(signedIn.body.data.user).toMatchObject({ id: signedUp.body.data.user.id, email });
  });
});
