/** The OpenID provider, driven by a real relying party (openid-client): discovery, keys, client credentials. */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuthClientSchema, SigningKeySchema } from '../../entities/oauth.js';
import { sha256Hex } from '../../server/crypto.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { registerClient as registerClientIn } from '../support/oauth.js';
import { freePort } from '../support/net.js';

let t: TestApp;
let issuer: string;
beforeAll(async () => {
  // The issuer must be where the app really listens, as it would be behind its public URL.
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
  issuer = `${t.services.config.baseUrl}/api/auth/oauth2`;
});
afterAll(async () => {
  await t?.close();
});

/** A confidential client of this file's app, able to use client credentials unless told otherwise. */
const registerClient = (options: { grantTypes?: string[]; scopes?: string[] } = {}) =>
  registerClientIn(t, {
    scopes: options.scopes ?? ['projects:read', 'openid'],
    grantTypes: options.grantTypes ?? ['authorization_code', 'refresh_token', 'client_credentials'],
  });

async function discover(clientId: string, secret: string) {
  return oidc.discovery(new URL(issuer), clientId, secret, oidc.ClientSecretBasic(secret), {
    execute: [oidc.allowInsecureRequests],
  });
}

describe('discovery and keys', () => {
  it('publishes OpenID and OAuth metadata and the protected-resource document', async () => {
    const openid = await t.request('/.well-known/openid-configuration');
    expect(openid.status).toBe(200);
    expect(openid.body).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(openid.body.grant_types_supported).not.toContain('password');
    expect(openid.body.grant_types_supported).not.toContain('implicit');
    expect((await t.request('/.well-known/oauth-authorization-server')).body.issuer).toBe(issuer);
    const resource = await t.request('/.well-known/oauth-protected-resource');
    expect(resource.body).toMatchObject({
      resource: `${t.services.config.baseUrl}/api`,
      authorization_servers: [issuer],
    });
  });

  it('publishes RS256 and ES256 keys kept encrypted in the database', async () => {
    const jwks = await t.request('/api/auth/oauth2/jwks');
    const algs = jwks.body.keys.map((k: { alg: string }) => k.alg).sort();
    expect(algs).toEqual(['ES256', 'RS256']);
    for (const key of jwks.body.keys) expect(key.d).toBeUndefined();
    const rows = await t.services.orm.em.fork().find(SigningKeySchema, {});
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.encryptedJwk).not.toMatch(/"d"|"kty"/);
  });
});

describe('client credentials', () => {
  it('issues a 15-minute JWT for the API, which introspects as active until revoked', async () => {
    const client = await registerClient();
    const config = await discover(client.id, client.secret);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'projects:read' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.expires_in).toBeLessThanOrEqual(900);
    const [, payload] = tokens.access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    expect(claims).toMatchObject({
      iss: issuer,
      aud: `${t.services.config.baseUrl}/api`,
      client_id: client.id,
      scope: 'projects:read',
    });
    expect(claims.jti).toBeTruthy();

    // Verifiable by signature against the published keys, and introspectable until revoked.
    const jwks = (await t.request('/api/auth/oauth2/jwks')).body;
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toContain(
      JSON.parse(Buffer.from(tokens.access_token.split('.')[0]!, 'base64url').toString()).kid,
    );
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toMatchObject({
      active: true,
      client_id: client.id,
      scope: 'projects:read',
    });
    await oidc.tokenRevocation(config, tokens.access_token);
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
  });

  it('refuses a wrong secret, a grant it does not have, and the password grant, in RFC 6749 form', async () => {
    const client = await registerClient({ grantTypes: ['authorization_code'] });
    const token = (body: Record<string, string>, secret = client.secret) =>
      fetch(`${t.url}/api/auth/oauth2/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}`,
        },
        body: new URLSearchParams(body),
      });
    const wrong = await token({ grant_type: 'client_credentials' }, 'cs_wrong');
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_client');
    const notAllowed = await token({ grant_type: 'client_credentials' });
    expect(['unauthorized_client', 'invalid_request']).toContain(
      ((await notAllowed.json()) as { error: string }).error,
    );
    const password = await token({ grant_type: 'password', username: 'a', password: 'b' });
    expect(password.status).toBe(400);
    expect(((await password.json()) as { error: string }).error).toBe('unsupported_grant_type');
    expect(password.headers.get('cache-control')).toBe('no-store');
  });
});

describe('client authentication', () => {
  it('accepts client_secret_post as well as client_secret_basic', async () => {
    const client = await registerClient();
    const post = (secret: string) =>
      fetch(`${t.url}/api/auth/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: client.id,
          client_secret: secret,
          scope: 'projects:read',
        }),
      });
    const ok = await post(client.secret);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { access_token?: string }).access_token).toBeTruthy();
    const wrong = await post('cs_wrong');
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_client');
  });
});

describe('dynamic registration (RFC 7591)', () => {
  it('is closed by default', async () => {
    const res = await fetch(`${t.url}/api/auth/oauth2/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://dyn.example/cb'] }),
    });
    expect(res.status).toBe(404);
  });

  it('registers a client with a hashed secret when OAUTH_DYNAMIC_REGISTRATION=true', async () => {
    const port = await freePort();
    const open = await startTestApp({
      port,
      env: { BASE_URL: `http://127.0.0.1:${port}`, OAUTH_DYNAMIC_REGISTRATION: 'true' },
    });
    try {
      const res = await fetch(`${open.url}/api/auth/oauth2/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_name: 'Dynamic',
          redirect_uris: ['https://dyn.example/cb'],
          grant_types: ['client_credentials'],
          response_types: [],
          scope: 'projects:read',
        }),
      });
      expect(res.status).toBe(201);
      const registered = (await res.json()) as { client_id: string; client_secret: string };
      const row = await open.services.orm.em.fork().findOneOrFail(OAuthClientSchema, { id: registered.client_id });
      expect(row).toMatchObject({
        userId: null,
        type: 'confidential',
        secretHash: sha256Hex(registered.client_secret),
      });
      const config = await oidc.discovery(
        new URL(`${open.services.config.baseUrl}/api/auth/oauth2`),
        registered.client_id,
        registered.client_secret,
        oidc.ClientSecretBasic(registered.client_secret),
        { execute: [oidc.allowInsecureRequests] },
      );
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'projects:read' });
      expect(tokens.access_token).toBeTruthy();
    } finally {
      await open.close();
    }
  });
});

describe('the token endpoint budget', () => {
  it('allows RATE_LIMIT_OAUTH_TOKEN_POINTS requests a minute per client, then 429 with Retry-After', async () => {
    const port = await freePort();
    const limited = await startTestApp({
      port,
      env: {
        BASE_URL: `http://127.0.0.1:${port}`,
        RATE_LIMIT_OAUTH_TOKEN_POINTS: '2',
        RATE_LIMIT_SIGN_UP_POINTS: '100',
      },
    });
    try {
      const { id, secret } = await registerClientIn(limited, {
        name: 'Busy client',
        scopes: ['projects:read'],
        grantTypes: ['client_credentials'],
      });
      const token = () =>
        fetch(`${limited.url}/api/auth/oauth2/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'projects:read' }),
        });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await token()).status);
      expect(statuses).toEqual([200, 200, 429]);
      const refused = await token();
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await refused.json()) as { error: string }).error).toBe('rate_limited');
    } finally {
      await limited.close();
    }
  });
});

describe('end-session', () => {
  it('answers with the sign-out confirmation the provider shows', async () => {
    const res = await fetch(`${t.url}/api/auth/oauth2/end-session`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });
});

describe('headers', () => {
  it('marks the protocol endpoints uncacheable and carries the rate-limit headers', async () => {
    for (const path of ['/api/auth/oauth2/jwks', '/api/auth/oauth2/end-session']) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.headers.get('cache-control'), path).toContain('no-store');
      expect(res.headers.get('ratelimit-remaining'), path).toMatch(/^\d+$/);
      expect(res.headers.get('strict-transport-security'), path).toBe('max-age=31536000; includeSubDomains');
    }
  });
});
