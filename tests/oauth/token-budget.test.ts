/**
 * The token endpoint's per-client budget (API.md section 8) cannot be spent by someone who merely
 * knows a client_id: only a client that authenticates spends its own budget; anyone else (a wrong
 * secret, no secret, a public client) spends a budget of that client id and their own address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { freePort } from '../support/net.js';
import { registerClient, registerPublicClient } from '../support/oauth.js';
import { basicAuth, protocolPost } from '../support/oauth-flow.js';

const ATTACKER = '203.0.113.7';
const PARTNER = '198.51.100.20';
const POINTS = 3;
let t: TestApp;
let tokenEndpoint: string;

beforeAll(async () => {
  const port = await freePort();
  t = await startTestApp({
    port,
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_OAUTH_TOKEN_POINTS: String(POINTS),
      RATE_LIMIT_SIGN_UP_POINTS: '100',
    },
  });
  tokenEndpoint = `${t.url}/api/auth/oauth2/token`;
});
afterAll(async () => {
  await t?.close();
});

const clientCredentials = (from: string, headers: Record<string, string> = {}, fields: Record<string, string> = {}) =>
  protocolPost(
    tokenEndpoint,
    { grant_type: 'client_credentials', scope: 'projects:read', ...fields },
    { 'x-forwarded-for': from, ...headers },
  );

describe('the per-client token budget', () => {
  it('is not spent by wrong secrets or anonymous calls naming the client: the partner still gets tokens', async () => {
    const partner = await registerClient(t, {
      name: 'Partner',
      scopes: ['projects:read'],
      grantTypes: ['client_credentials'],
    });
    const wrong = basicAuth(partner.id, 'cs_guessed');

    const statuses = [];
    for (let i = 0; i < POINTS + 1; i++)
      statuses.push((await clientCredentials(ATTACKER, { authorization: wrong })).status);
    expect(statuses).toEqual([...Array<number>(POINTS).fill(401), 429]);
    // Naming the client without any secret shares the attacker's (client, address) budget.
    expect((await clientCredentials(ATTACKER, {}, { client_id: partner.id })).status).toBe(429);
    expect((await clientCredentials(ATTACKER, {}, { client_id: partner.id, client_secret: 'cs_guessed' })).status).toBe(
      429,
    );

    // The partner authenticates, from anywhere (the attacker's address too): its own budget is whole.
    const own = await clientCredentials(PARTNER, { authorization: basicAuth(partner.id, partner.secret) });
    expect(own.status).toBe(200);
    expect(own.body.access_token).toBeTruthy();
    expect((await clientCredentials(ATTACKER, { authorization: basicAuth(partner.id, partner.secret) })).status).toBe(
      200,
    );
    // A client_secret_post call authenticates just as well.
    expect(
      (await clientCredentials(PARTNER, {}, { client_id: partner.id, client_secret: partner.secret })).status,
    ).toBe(200);
  });

  it('still refuses an authenticated client past its own budget', async () => {
    const busy = await registerClient(t, {
      name: 'Busy',
      scopes: ['projects:read'],
      grantTypes: ['client_credentials'],
    });
    const statuses = [];
    for (let i = 0; i < POINTS + 1; i++)
      statuses.push(
        (await clientCredentials(`198.51.100.${30 + i}`, { authorization: basicAuth(busy.id, busy.secret) })).status,
      );
    expect(statuses).toEqual([...Array<number>(POINTS).fill(200), 429]);
  });

  it("keys a public client's calls by its id and the caller's address", async () => {
    const spa = await registerPublicClient(t, { name: 'Single-page app' });
    const code = {
      grant_type: 'authorization_code',
      client_id: spa.id,
      code: 'not-a-code',
      code_verifier: 'v'.repeat(43),
      redirect_uri: 'https://client.example/callback',
    };
    const statuses = [];
    for (let i = 0; i < POINTS + 1; i++)
      statuses.push((await protocolPost(tokenEndpoint, code, { 'x-forwarded-for': ATTACKER })).status);
    expect(statuses).toEqual([...Array<number>(POINTS).fill(400), 429]);
    const elsewhere = await protocolPost(tokenEndpoint, code, { 'x-forwarded-for': PARTNER });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error).toBe('invalid_grant');
  });

  it('keys calls that name no client by the caller alone', async () => {
    const statuses = [];
    for (let i = 0; i < POINTS + 1; i++) statuses.push((await clientCredentials('203.0.113.99')).status);
    expect(statuses.at(-1)).toBe(429);
    expect((await clientCredentials('203.0.113.100')).status).not.toBe(429);
  });
});
