/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of this service's JWT access tokens, driven by
 * a real relying party (openid-client): a client sees and revokes only its own tokens, and a revoked
 * token is refused by the API and userinfo on its next use.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signUp, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { registerClient } from '../support/oauth.js';
import { approveConsent, authorizationRequest, basicAuth, cookieBrowser, protocolPost } from '../support/oauth-flow.js';

const REDIRECT = 'https://client.example/callback';
/** Moves only this service's clock (token expiry as the API and introspection see it). */
const clock = { at: Date.now(), now: () => new Date(clock.at) };
let t: TestApp;
let issuer: string;
let user: SignedUp;
let clientA: { id: string; secret: string };
let clientB: { id: string; secret: string };
let configA: oidc.Configuration;
let configB: oidc.Configuration;

const discover = (client: { id: string; secret: string }) =>
  oidc.discovery(new URL(issuer), client.id, client.secret, oidc.ClientSecretBasic(client.secret), {
    execute: [oidc.allowInsecureRequests],
  });

beforeAll(async () => {
  const port = await freePort();
  t = await startTestApp({
    port,
    now: clock.now,
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      TRUSTED_ORIGINS: 'http://localhost:3000',
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
    },
  });
  issuer = `${t.services.config.baseUrl}/api/auth/oauth2`;
  user = await signUp(t);
  const grantTypes = ['authorization_code', 'refresh_token', 'client_credentials'];
  clientA = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT], grantTypes });
  clientB = await registerClient(t, { name: 'Other App', redirectUris: [REDIRECT], grantTypes });
  [configA, configB] = await Promise.all([discover(clientA), discover(clientB)]);
});
afterAll(async () => {
  await t?.close();
});

/** The user's tokens from client A, through the consent page, exchanged by openid-client. */
async function userTokens() {
  const b = cookieBrowser(t.services.config.baseUrl);
  b.cookies.set('session', user.cookie.split('=')[1]!);
  const request = await authorizationRequest(configA.serverMetadata().authorization_endpoint!, {
    client_id: clientA.id,
    redirect_uri: REDIRECT,
    scope: 'openid offline_access user:read',
    prompt: 'consent',
  });
  return oidc.authorizationCodeGrant(configA, await approveConsent(b, request.url), {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
  });
}

const me = (accessToken: string) => t.request('/api/user/me', { headers: { authorization: `Bearer ${accessToken}` } });
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('introspection and revocation of access tokens', () => {
  it('introspects a live token, revokes it, and the API refuses it on its next call', async () => {
    const tokens = await userTokens();
    expect((await me(tokens.access_token)).status).toBe(200);

    const live = await oidc.tokenIntrospection(configA, tokens.access_token);
    const claims = claimsOf(tokens.access_token);
    expect(live).toMatchObject({
      active: true,
      client_id: clientA.id,
      sub: user.userId,
      scope: claims.scope,
      exp: claims.exp,
      iat: claims.iat,
      iss: issuer,
      aud: claims.aud,
      jti: claims.jti,
      token_type: 'Bearer',
    });

    await oidc.tokenRevocation(configA, tokens.access_token);
    expect(await oidc.tokenIntrospection(configA, tokens.access_token)).toEqual({ active: false });
    const refused = await me(tokens.access_token);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect(refused.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    await expect(oidc.fetchUserInfo(configA, tokens.access_token, user.userId)).rejects.toThrow();

    // Only the access token went: the refresh token still gives a new, working one.
    const refreshed = await oidc.refreshTokenGrant(configA, tokens.refresh_token!);
    expect((await me(refreshed.access_token)).status).toBe(200);
  });

  it("lets no other client see or revoke a client's token", async () => {
    const tokens = await userTokens();
    expect(await oidc.tokenIntrospection(configB, tokens.access_token)).toEqual({ active: false });
    await oidc.tokenRevocation(configB, tokens.access_token);
    expect((await oidc.tokenIntrospection(configA, tokens.access_token)).active).toBe(true);
    expect((await me(tokens.access_token)).status).toBe(200);
  });

  it('refuses a caller that does not authenticate', async () => {
    const tokens = await userTokens();
    for (const name of ['introspect', 'revoke']) {
      const wrong = await protocolPost(
        `${issuer}/${name}`,
        { token: tokens.access_token },
        { authorization: basicAuth(clientA.id, 'cs_wrong') },
      );
      expect(wrong.status, name).toBe(401);
      expect(wrong.body.error, name).toBe('invalid_client');
      const anonymous = await protocolPost(`${issuer}/${name}`, { token: tokens.access_token, client_id: clientA.id });
      expect(anonymous.status, name).toBe(401);
      expect(anonymous.body.error, name).toBe('invalid_client');
    }
    expect((await me(tokens.access_token)).status).toBe(200);
  });

  it('answers inactive for a token whose grant was withdrawn, and for one past its expiry', async () => {
    const withdrawn = await userTokens();
    const grantId = claimsOf(withdrawn.access_token).grant_id as string;
    await t.services.orm.em
      .fork()
      .getConnection()
      .execute(`delete from oidc_artifacts where model = 'Grant' and id = ?`, [grantId]);
    expect(await oidc.tokenIntrospection(configA, withdrawn.access_token)).toEqual({ active: false });

    const expiring = await userTokens();
    const saved = clock.at;
    clock.at = (claimsOf(expiring.access_token).exp as number) * 1000 + 1000;
    try {
      expect(await oidc.tokenIntrospection(configA, expiring.access_token)).toEqual({ active: false });
      await oidc.tokenRevocation(configA, expiring.access_token);
    } finally {
      clock.at = saved;
    }
  });

  it('honours revocation of client-credentials tokens in introspection', async () => {
    const tokens = await oidc.clientCredentialsGrant(configA, { scope: 'projects:read' });
    expect(await oidc.tokenIntrospection(configA, tokens.access_token)).toMatchObject({
      active: true,
      client_id: clientA.id,
      sub: clientA.id,
      scope: 'projects:read',
    });
    expect(await oidc.tokenIntrospection(configB, tokens.access_token)).toEqual({ active: false });
    await oidc.tokenRevocation(configA, tokens.access_token);
    expect(await oidc.tokenIntrospection(configA, tokens.access_token)).toEqual({ active: false });
  });

  it('keeps a revoked token on record only until it expires', async () => {
    const sql = t.services.orm.em.fork().getConnection();
    const past = new Date(clock.at - 60_000);
    await sql.execute(`insert into revoked_access_tokens (jti, expires_at) values ('expired-jti', ?)`, [past]);
    const tokens = await userTokens();
    await oidc.tokenRevocation(configA, tokens.access_token);
    const rows = await sql.execute<{ jti: string }[]>('select jti from revoked_access_tokens');
    expect(rows.map((r) => r.jti)).toContain(claimsOf(tokens.access_token).jti);
    expect(rows.map((r) => r.jti)).not.toContain('expired-jti');
  });
});
