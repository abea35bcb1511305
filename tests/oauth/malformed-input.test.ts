/**
 * Malformed input on the protocol endpoints and the interaction pages gets the protocol's own error
 * (RFC 6749 form, or the error page where a person is looking), never a 500: badly encoded client
 * credentials, unknown resource indicators (RFC 8707), NUL bytes that PostgreSQL cannot store, JSON
 * nested deep enough to exhaust the stack of whatever walks it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdapterClass } from '../../adapters/oauth/adapter.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signUp, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { registerClient } from '../support/oauth.js';
import {
  authorizationRequest,
  basicAuth,
  cookieBrowser,
  csrfOf,
  formPost,
  protocolPost,
  signInAndApprove,
} from '../support/oauth-flow.js';

const REDIRECT = 'https://client.example/callback';
const NUL = '\u0000';
let t: TestApp;
let issuer: string;
let client: { id: string; secret: string };
let user: SignedUp;

beforeAll(async () => {
  const port = await freePort();
  t = await startTestApp({
    port,
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      TRUSTED_ORIGINS: 'http://localhost:3000',
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      RATE_LIMIT_SIGN_IN_POINTS: '100',
    },
  });
  issuer = `${t.services.config.baseUrl}/api/auth/oauth2`;
  client = await registerClient(t, {
    name: 'Partner App',
    redirectUris: [REDIRECT],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
  });
  user = await signUp(t);
});
afterAll(async () => {
  await t?.close();
});

const endpoint = (name: string) => `${issuer}/${name}`;
const asClient = () => ({ authorization: basicAuth(client.id, client.secret) });
const authorize = (params: Record<string, string | undefined> = {}) =>
  authorizationRequest(endpoint('authorize'), {
    client_id: client.id,
    redirect_uri: REDIRECT,
    scope: 'openid offline_access projects:read',
    ...params,
  });

/** Where the authorization endpoint sent the browser, with the `error` it carried, or the page it showed. */
async function authorizationAnswer(url: string) {
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  const target = location ? new URL(location, url) : null;
  return { status: res.status, target, error: target?.searchParams.get('error') ?? null, body: await res.text() };
}

/** A user's code and verifier for the client, through the sign-in and consent pages. */
async function codeFor(scope = 'openid offline_access projects:read') {
  const b = cookieBrowser(t.services.config.baseUrl);
  const request = await authorize({ scope });
  const callback = await signInAndApprove(b, await b.follow(request.url), user);
  return { code: callback.searchParams.get('code')!, verifier: request.verifier };
}

describe('badly encoded client credentials (RFC 6749 section 2.3.1)', () => {
  const badlyEncoded = `Basic ${Buffer.from('abc:%E0%A4%A').toString('base64')}`;

  for (const name of ['token', 'introspect', 'revoke']) {
    it(`answers invalid_client with 401 at /${name}`, async () => {
      const res = await protocolPost(
        endpoint(name),
        { grant_type: 'client_credentials', token: 'x' },
        { authorization: badlyEncoded },
      );
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
      expect(res.headers.get('cache-control')).toContain('no-store');
    });
  }

  it('answers invalid_client for a badly encoded client id too', async () => {
    const res = await protocolPost(
      endpoint('token'),
      { grant_type: 'client_credentials' },
      { authorization: `Basic ${Buffer.from(`%zz:${client.secret}`).toString('base64')}` },
    );
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });
});

describe('unknown resource indicators (RFC 8707)', () => {
  it('redirects an authorization request for an unknown resource with invalid_target', async () => {
    const answer = await authorizationAnswer((await authorize({ resource: 'https://elsewhere.example/api' })).url);
    expect(answer.status).toBe(303);
    expect(answer.target?.origin + answer.target!.pathname).toBe(REDIRECT);
    expect(answer.error).toBe('invalid_target');
  });

  it('answers invalid_target at the token endpoint, for client credentials and for a code', async () => {
    const credentials = await protocolPost(
      endpoint('token'),
      { grant_type: 'client_credentials', scope: 'projects:read', resource: 'https://elsewhere.example/api' },
      asClient(),
    );
    expect(credentials.status).toBe(400);
    expect(credentials.body.error).toBe('invalid_target');

    const { code, verifier } = await codeFor();
    const exchanged = await protocolPost(
      endpoint('token'),
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
        resource: 'https://elsewhere.example/api',
      },
      asClient(),
    );
    expect(exchanged.status).toBe(400);
    expect(exchanged.body.error).toBe('invalid_target');
  });
});

describe('NUL bytes', () => {
  it('never makes the authorization endpoint fail', async () => {
    for (const params of [
      { client_id: NUL },
      { client_id: `${client.id}${NUL}` },
      { state: `s${NUL}` },
      { nonce: NUL },
      { login_hint: NUL },
      { redirect_uri: `${REDIRECT}${NUL}` },
    ]) {
      const answer = await authorizationAnswer((await authorize(params)).url);
      expect(answer.status, JSON.stringify(params)).toBeLessThan(500);
      expect(answer.error ?? answer.body, JSON.stringify(params)).toMatch(
        /invalid_request|invalid_client|invalid_redirect_uri/,
      );
    }
  });

  it('answers the token endpoint in RFC 6749 form', async () => {
    const cases: [Record<string, string>, Record<string, string>][] = [
      [{ grant_type: 'client_credentials', client_id: NUL }, {}],
      [{ grant_type: 'client_credentials', client_id: `${client.id}${NUL}`, client_secret: client.secret }, {}],
      [
        { grant_type: 'authorization_code', code: NUL, code_verifier: 'v'.repeat(43), redirect_uri: REDIRECT },
        asClient(),
      ],
      [{ grant_type: 'refresh_token', refresh_token: `abc${NUL}def` }, asClient()],
      [{ grant_type: 'client_credentials', scope: `projects:read${NUL}` }, asClient()],
    ];
    for (const [fields, headers] of cases) {
      const res = await protocolPost(endpoint('token'), fields, headers);
      expect(res.status, JSON.stringify(fields)).toBeGreaterThanOrEqual(400);
      expect(res.status, JSON.stringify(fields)).toBeLessThan(500);
      expect(res.body.error, JSON.stringify(fields)).toMatch(/^invalid_(request|client|grant|scope)$/);
    }
  });

  it('answers introspection and revocation in their own forms', async () => {
    const introspected = await protocolPost(endpoint('introspect'), { token: `abc${NUL}` }, asClient());
    expect(introspected.status).toBeLessThan(500);
    expect(introspected.body.error ?? introspected.body.active).toBeDefined();
    const revoked = await protocolPost(endpoint('revoke'), { token: `abc${NUL}` }, asClient());
    expect(revoked.status).toBeLessThan(500);
  });

  it('shows the ordinary sign-in error for an email with a NUL in it', async () => {
    const b = cookieBrowser(t.services.config.baseUrl);
    const page = await b.follow((await authorize()).url);
    const html = await page.res.text();
    const answer = await formPost(b, `${page.url}/login`, {
      csrf: csrfOf(html),
      email: `${user.email}${NUL}`,
      password: user.password,
    });
    expect(answer.res.status).toBe(401);
    expect(await answer.res.text()).toContain('Invalid email or password');
    // The same interaction still signs the user in afterwards.
    const again = await formPost(b, `${page.url}/login`, {
      csrf: csrfOf(html),
      email: user.email,
      password: user.password,
    });
    expect(again.res.status).toBe(200);
  });

  it('treats an implausible client id as an unknown client in the storage adapter', async () => {
    const Adapter = createAdapterClass(t.services.orm.em.fork(), t.services.now);
    const clients = new Adapter('Client');
    for (const id of [NUL, `${client.id}${NUL}`, 'x'.repeat(300), '']) expect(await clients.find(id)).toBeUndefined();
    expect(await clients.find(client.id)).toMatchObject({ client_id: client.id });
    expect(await new Adapter('RefreshToken').find(`a${NUL}`)).toBeUndefined();
    expect(await new Adapter('Grant').find(`a${NUL}`)).toBeUndefined();
  });
});

describe('deeply nested JSON', () => {
  // Deep enough to exhaust the stack of anything that walks it recursively, small enough for the 64 KiB limit.
  const DEPTH = 25_000;
  const bodies = {
    array: `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`,
    object: `${'{"a":'.repeat(DEPTH / 5)}1${'}'.repeat(DEPTH / 5)}`,
  };

  // /register reads JSON (RFC 7591), and the body is read before the provider decides whether it serves it.
  for (const name of ['token', 'introspect', 'revoke', 'register']) {
    for (const [shape, body] of Object.entries(bodies)) {
      it(`answers a deep JSON ${shape} at /${name} with invalid_request`, async () => {
        expect(body.length).toBeLessThan(64 * 1024);
        const res = await fetch(endpoint(name), {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...asClient() },
          body,
        });
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await res.json()).toMatchObject({ error: 'invalid_request' });
      });
    }
  }
});
