import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamOidc, type UpstreamOidc } from '../support/upstream-oidc.js';

describe('the upstream OpenID provider used by the federated tests', () => {
  let upstream: UpstreamOidc;
  const redirectUri = 'http://127.0.0.1:1/callback';
  beforeAll(async () => {
    upstream = await startUpstreamOidc({
      clients: [{ client_id: 'app', client_secret: 'secret', redirect_uris: [redirectUri] }],
      accounts: [{ sub: 'u1', email: 'ada@example.com', email_verified: true, name: 'Ada' }],
    });
  });
  afterAll(() => upstream?.stop());

  it('signs in without a browser and issues an ID token openid-client accepts', async () => {
    const config = await client.discovery(new URL(upstream.issuer), 'app', 'secret', undefined, {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email profile',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await upstream.signIn(url, 'u1');
    expect(callback.searchParams.get('state')).toBe(state);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.claims()).toMatchObject({ sub: 'u1', email: 'ada@example.com', email_verified: true, name: 'Ada' });
  });
});
