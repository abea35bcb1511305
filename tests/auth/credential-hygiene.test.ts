/**
 * What an account may mint before its address is proven, and what ends when it changes hands:
 * account pre-hijacking (someone registers another person's address and leaves credentials behind),
 * password reset, password change, email change and account deletion (procedures/shared/end-credentials.ts).
 * OAuth grants are earned through the real authorization code flow, so their end is checked against
 * the provider itself.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InviteSchema } from '../../entities/invite.js';
import { createApiKey } from '../support/api-keys.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, PASSWORD, postJson, sessionCookieFrom, signUp, uniqueEmail } from '../support/identity.js';
import { startInbox, type Inbox } from '../support/mail.js';
import { freePort } from '../support/net.js';
import { createBearerToken, registerClient } from '../support/oauth.js';
import { authorizationRequest, cookieBrowser, signInAndApprove } from '../support/oauth-flow.js';
import { addMember, defaultOrganizationId } from '../support/tenancy.js';

const REDIRECT = 'https://client.example/callback';
const NEW_PASSWORD = 'an entirely new passphrase 7';
let t: TestApp;
let inbox: Inbox;
let client: { id: string; secret: string };
let config: oidc.Configuration;

beforeAll(async () => {
  inbox = await startInbox();
  const port = await freePort();
  t = await startTestApp({
    port,
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      TRUSTED_ORIGINS: 'http://localhost:3000',
      SMTP_URL: inbox.url,
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '1000',
      RATE_LIMIT_SIGN_IN_POINTS: '1000',
      RATE_LIMIT_EMAIL_SEND_POINTS: '1000',
      CREDENTIAL_CACHE_TTL: '60',
    },
  });
  client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT] });
  config = await oidc.discovery(
    new URL(`${t.services.config.baseUrl}/api/auth/oauth2`),
    client.id,
    client.secret,
    oidc.ClientSecretBasic(client.secret),
    {
      execute: [oidc.allowInsecureRequests],
    },
  );
});
afterAll(async () => {
  await t?.close();
  await inbox?.close();
});

const get = (path: string, headers: Record<string, string>) => t.request(path, { headers });
const me = (headers: Record<string, string>) => get('/api/user/me', headers);
const signIn = async (email: string, password: string) => {
  const res = await postJson(t, '/api/auth/sign-in/email', { email, password });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return sessionCookieFrom(res.headers)!;
};

/** An app authorized by `user` through the real flow: the tokens the app holds. */
async function authorizeApp(user: { email: string; password: string }) {
  const b = cookieBrowser(t.services.config.baseUrl);
  const request = await authorizationRequest(config.serverMetadata().authorization_endpoint!, {
    client_id: client.id,
    redirect_uri: REDIRECT,
    scope: 'openid email offline_access user:read',
    prompt: 'consent',
  });
  const callback = await signInAndApprove(b, await b.follow(request.url), user);
  return oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
  });
}

/** Resets the user's password through the link mailed to them. */
async function resetThroughMail(email: string, password = NEW_PASSWORD) {
  expect((await postJson(t, '/api/auth/forgot-password', { email })).status).toBe(200);
  const token = await inbox.tokenFor(email, /Reset/);
  const res = await postJson(t, '/api/auth/reset-password', { token, password });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res;
}

describe('an account whose address is not verified', () => {
  it('signs in and manages its profile, but mints no key, client or invitation and accepts none', async () => {
    const user = await signUp(t, { verified: false });
    const organizationId = await defaultOrganizationId(t, user.userId);
    expect((await me(asBrowser(user.cookie))).status).toBe(200);
    const renamed = await t.request('/api/user/me', {
      method: 'PUT',
      headers: asBrowser(user.cookie),
      body: JSON.stringify({ fullName: 'Still Me' }),
    });
    expect(renamed.status).toBe(200);

    const refused = [
      await postJson(t, '/api/auth/api-key/create', { name: 'k', scopes: ['user:read'] }, user.cookie),
      await postJson(
        t,
        '/api/user/oauth-clients',
        { name: 'App', redirectUris: [REDIRECT], allowedScopes: ['openid'] },
        user.cookie,
      ),
      await postJson(
        t,
        `/api/user/organizations/${organizationId}/invites`,
        { email: uniqueEmail('co-owner'), role: 'owner' },
        user.cookie,
      ),
      await postJson(t, `/api/user/invites/${'x'.repeat(43)}/accept`, {}, user.cookie),
    ];
    for (const res of refused)
      expect(res.body, JSON.stringify(res.body)).toMatchObject({ status: 403, code: 'EMAIL_NOT_VERIFIED', data: null });
    expect(await t.services.orm.em.fork().count(InviteSchema, { organizationId })).toBe(0);
  });

  it('a reset through the emailed link verifies the address', async () => {
    const user = await signUp(t, { verified: false });
    await resetThroughMail(user.email);
    const cookie = await signIn(user.email, NEW_PASSWORD);
    expect((await me(asBrowser(cookie))).body.data).toMatchObject({ isVerified: true });
    expect((await postJson(t, '/api/auth/api-key/create', { name: 'k', scopes: ['user:read'] }, cookie)).status).toBe(
      200,
    );
  });
});

describe('a password reset through the emailed link', () => {
  it('ends every other credential: sessions, API keys, OAuth grants and refresh tokens, invitations sent, pending email changes', async () => {
    // Whoever held the account (it could have been registered with someone else's address) left all this behind.
    const held = await signUp(t);
    const organizationId = await defaultOrganizationId(t, held.userId);
    const secondSession = await signIn(held.email, held.password);
    const apiKey = (
      await postJson(
        t,
        '/api/auth/api-key/create',
        { name: 'left behind', scopes: ['user:read', 'organizations:read'] },
        held.cookie,
      )
    ).body.data.key as string;
    const app = await authorizeApp(held);
    const invited = uniqueEmail('co-owner');
    expect(
      (
        await postJson(
          t,
          `/api/user/organizations/${organizationId}/invites`,
          { email: invited, role: 'owner' },
          held.cookie,
        )
      ).status,
    ).toBe(201);
    const inviteToken = await inbox.tokenFor(invited, /invited/);
    const elsewhere = uniqueEmail('elsewhere');
    expect(
      (await postJson(t, '/api/auth/change-email', { newEmail: elsewhere, password: held.password }, held.cookie))
        .status,
    ).toBe(200);
    const changeToken = await inbox.tokenFor(elsewhere, /Confirm/);
    // Everything works before the reset.
    expect((await me({ 'x-api-key': apiKey })).status).toBe(200);
    expect((await me({ authorization: `Bearer ${app.access_token}` })).status).toBe(200);

    await resetThroughMail(held.email);

    for (const cookie of [held.cookie, secondSession])
      expect((await me(asBrowser(cookie))).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect((await me({ 'x-api-key': apiKey })).body.code).toBe('INVALID_API_KEY');
    expect((await me({ authorization: `Bearer ${app.access_token}` })).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    await expect(oidc.refreshTokenGrant(config, app.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const grants = await t.services.orm.em
      .fork()
      .getConnection()
      .execute(`select 1 from oidc_artifacts where model = 'Grant' and payload->>'accountId' = ?`, [held.userId]);
    expect(grants).toHaveLength(0);
    const invite = await t.services.orm.em.fork().findOneOrFail(InviteSchema, { organizationId, email: invited });
    expect(invite.status).toBe('revoked');
    const invitee = await signUp(t, { email: invited });
    expect((await postJson(t, `/api/user/invites/${inviteToken}/accept`, {}, invitee.cookie)).body.code).toBe(
      'NOT_FOUND',
    );
    expect((await postJson(t, '/api/auth/verify-email', { token: changeToken })).body.code).toBe(
      'INVALID_OR_EXPIRED_TOKEN',
    );
    const audit = await get(
      `/api/user/organizations/${organizationId}/audit-logs?action=invite.revoked`,
      asBrowser(await signIn(held.email, NEW_PASSWORD)),
    );
    expect(audit.body.data).toEqual([
      expect.objectContaining({
        action: 'invite.revoked',
        actorType: 'emailed-link',
        metadata: expect.objectContaining({ reason: 'password-reset' }),
      }),
    ]);
  });
});

describe('a password change', () => {
  it('ends the other sessions, every app grant and pending email changes; keeps this session and API keys', async () => {
    const user = await signUp(t);
    const other = await signIn(user.email, user.password);
    const apiKey = await createApiKey(t, { userId: user.userId, scopes: ['user:read'] });
    const app = await authorizeApp(user);
    const elsewhere = uniqueEmail('moved');
    expect(
      (await postJson(t, '/api/auth/change-email', { newEmail: elsewhere, password: user.password }, user.cookie))
        .status,
    ).toBe(200);
    const changeToken = await inbox.tokenFor(elsewhere, /Confirm/);

    const res = await postJson(
      t,
      '/api/auth/change-password',
      { currentPassword: user.password, newPassword: NEW_PASSWORD },
      user.cookie,
    );
    expect(res.body).toMatchObject({ code: 'OK', data: { revokedSessions: 2 } });

    expect((await me(asBrowser(user.cookie))).status).toBe(200);
    expect((await me(asBrowser(other))).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect((await me({ 'x-api-key': apiKey })).status).toBe(200);
    expect((await me({ authorization: `Bearer ${app.access_token}` })).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    await expect(oidc.refreshTokenGrant(config, app.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await postJson(t, '/api/auth/verify-email', { token: changeToken })).body.code).toBe(
      'INVALID_OR_EXPIRED_TOKEN',
    );
  });
});

describe('an email change', () => {
  it('once confirmed, ends the links mailed to the old address; sessions go on', async () => {
    const user = await signUp(t);
    const other = await signIn(user.email, user.password);
    expect((await postJson(t, '/api/auth/forgot-password', { email: user.email })).status).toBe(200);
    const resetToken = await inbox.tokenFor(user.email, /Reset/);
    const newEmail = uniqueEmail('new');
    expect(
      (await postJson(t, '/api/auth/change-email', { newEmail, password: user.password }, user.cookie)).status,
    ).toBe(200);
    const confirmed = await postJson(t, '/api/auth/verify-email', { token: await inbox.tokenFor(newEmail, /Confirm/) });
    expect(confirmed.body.data).toEqual({ email: newEmail, isVerified: true });

    for (const cookie of [user.cookie, other]) expect((await me(asBrowser(cookie))).body.data.email).toBe(newEmail);
    expect(
      (await postJson(t, '/api/auth/reset-password', { token: resetToken, password: NEW_PASSWORD })).body.code,
    ).toBe('INVALID_OR_EXPIRED_TOKEN');
  });
});

describe('OAuth access tokens and API keys', () => {
  it('an OAuth access token cannot create, change or rotate an API key, whatever its scopes', async () => {
    const user = await signUp(t);
    const { token } = await createBearerToken(t, { userId: user.userId });
    const bearer = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const created = await t.request('/api/auth/api-key/create', {
      method: 'POST',
      headers: bearer,
      body: JSON.stringify({ name: 'minted', scopes: ['user:read'] }),
    });
    expect(created.body).toMatchObject({ status: 403, code: 'FORBIDDEN', data: null });
    const existing = (
      await postJson(t, '/api/auth/api-key/create', { name: 'mine', scopes: ['user:read'] }, user.cookie)
    ).body.data.id as string;
    const rotated = await t.request('/api/auth/api-key/rotate', {
      method: 'POST',
      headers: bearer,
      body: JSON.stringify({ id: existing }),
    });
    expect(rotated.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    // Reading its keys is still what the api-keys:read scope is for.
    expect((await t.request('/api/auth/api-key/list', { headers: bearer })).status).toBe(200);
  });
});

describe('deleting the account', () => {
  it('withdraws its app grants and the invitations it sent', async () => {
    const leaving = await signUp(t);
    const boss = await signUp(t);
    const organizationId = await defaultOrganizationId(t, boss.userId);
    await addMember(t, organizationId, leaving.userId, 'admin');
    const invited = uniqueEmail('pending');
    expect(
      (await postJson(t, `/api/user/organizations/${organizationId}/invites`, { email: invited }, leaving.cookie))
        .status,
    ).toBe(201);
    await authorizeApp(leaving);

    const deleted = await t.request('/api/user/me', {
      method: 'DELETE',
      headers: asBrowser(leaving.cookie),
      body: JSON.stringify({ password: PASSWORD }),
    });
    expect(deleted.status).toBe(200);
    const grants = await t.services.orm.em
      .fork()
      .getConnection()
      .execute(`select model from oidc_artifacts where payload->>'accountId' = ?`, [leaving.userId]);
    expect(grants).toHaveLength(0);
    expect(
      (await t.services.orm.em.fork().findOneOrFail(InviteSchema, { organizationId, email: invited })).status,
    ).toBe('revoked');
  });
});
