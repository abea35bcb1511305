/**
 * Social sign-in over OpenID Connect end to end: the app against a real upstream provider
 * (node-oidc-provider on loopback, configured as `google` and as a generic issuer), signed in through
 * the provider's own login form. Covers the redirect, the callback, the linking rules (procedures/auth/
 * federated/complete.ts), two-factor, and the provider being unreachable.
 */
import { randomBytes } from 'node:crypto';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { postJson, signUp, uniqueEmail } from '../support/identity.js';
import { addSecondFactor } from '../support/mfa.js';
import { freePort } from '../support/net.js';
import { flowBrowser, rowCounts } from '../support/social.js';
import { startUpstreamOidc, type UpstreamOidc } from '../support/upstream-oidc.js';

const APP_URL = 'https://app.example.com';
const TRUSTED = 'https://trusted.example.com';

let t: TestApp;
let google: UpstreamOidc;
let corporate: UpstreamOidc;

beforeAll(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  google = await startUpstreamOidc({
    clients: [
      {
        client_id: 'google-client',
        client_secret: 'google-secret',
        redirect_uris: [`${base}/api/auth/social/google/callback`],
      },
    ],
  });
  corporate = await startUpstreamOidc({
    clients: [
      {
        client_id: 'acme-client',
        client_secret: 'acme-secret',
        redirect_uris: [`${base}/api/auth/social/acme/callback`],
      },
    ],
    // A provider that puts the claims only at its userinfo endpoint.
    idTokenClaims: false,
  });
  t = await startTestApp({
    port,
    env: {
      BASE_URL: base,
      APP_URL,
      TRUSTED_ORIGINS: `${APP_URL},${TRUSTED}`,
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_IN_POINTS: '1000',
      RATE_LIMIT_SIGN_UP_POINTS: '1000',
      GOOGLE_CLIENT_ID: 'google-client',
      GOOGLE_CLIENT_SECRET: 'google-secret',
      GOOGLE_ISSUER: google.issuer,
      OIDC_PROVIDER_ID: 'acme',
      OIDC_ISSUER: corporate.issuer,
      OIDC_CLIENT_ID: 'acme-client',
      OIDC_CLIENT_SECRET: 'acme-secret',
    },
  });
});
afterAll(async () => {
  await t?.close();
  await google?.stop();
  await corporate?.stop();
});

const sql = <T>(query: string, params: unknown[] = []) =>
  t.services.orm.em.fork().getConnection().execute<T[]>(query, params);

/** A provider account of its own for each test. */
function person(upstream: UpstreamOidc, claims: { email?: string; email_verified?: boolean; name?: string } = {}) {
  const account = {
    sub: `sub-${randomBytes(6).toString('hex')}`,
    email: uniqueEmail('social'),
    email_verified: true,
    name: 'Grace Hopper',
    ...claims,
  };
  upstream.setAccount(account);
  return account;
}

/** Start at the app, sign in at the provider, come back: every step's answer. */
async function socialSignIn(
  sub: string,
  options: { provider?: string; upstream?: UpstreamOidc; callbackURL?: string } = {},
) {
  const provider = options.provider ?? 'google';
  const upstream = options.upstream ?? google;
  const b = flowBrowser(t);
  const query = options.callbackURL ? `?callbackURL=${encodeURIComponent(options.callbackURL)}` : '';
  const start = await b.get(`/api/auth/social/${provider}${query}`);
  expect(start.status).toBe(303);
  const answer = await upstream.signIn(start.location!, sub);
  const end = await b.get(answer);
  return { b, start, answer, end };
}

async function sessionUser(cookie: string) {
  const res = await t.request('/api/auth/session', { headers: { cookie } });
  return res.body.data?.user as { id: string; email: string; emailVerified?: boolean } | undefined;
}

describe('the redirect to the provider', () => {
  it('sends the browser to the discovered authorization endpoint with state, nonce and PKCE S256, and binds the flow to the browser', async () => {
    const b = flowBrowser(t);
    const start = await b.get('/api/auth/social/google');
    expect(start.status).toBe(303);
    const to = new URL(start.location!);
    expect(to.origin).toBe(google.issuer);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      client_id: 'google-client',
      response_type: 'code',
      scope: 'openid email profile',
      redirect_uri: `${t.services.config.baseUrl}/api/auth/social/google/callback`,
      code_challenge_method: 'S256',
    });
    expect(to.searchParams.get('state')).toMatch(/^[\w-]{40,}$/);
    expect(to.searchParams.get('nonce')).toBeTruthy();
    expect(to.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    const binding = start.headers.getSetCookie().find((c) => c.startsWith('federation='));
    expect(binding).toMatch(/HttpOnly/);
    expect(binding).toMatch(/SameSite=Lax/);
    // Only hashes and ciphertext are kept.
    const [row] = await sql<{ state_hash: string; secrets: string; expires_at: Date; created_at: Date }>(
      'select state_hash, secrets, expires_at, created_at from federated_states order by created_at desc limit 1',
    );
    expect(row!.state_hash).not.toContain(to.searchParams.get('state'));
    expect(row!.secrets).not.toContain(to.searchParams.get('nonce'));
    expect(new Date(row!.expires_at).getTime() - new Date(row!.created_at).getTime()).toBe(10 * 60_000);
  });

  it('answers 404 NOT_FOUND for a provider that is unknown or not configured', async () => {
    for (const path of [
      '/api/auth/social/github',
      '/api/auth/social/facebook',
      '/api/auth/social/github/callback?code=x&state=y',
    ]) {
      const res = await t.request(path, { redirect: 'manual' });
      expect(res.status, path).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
    }
  });
});

describe('a first sign-in', () => {
  it('creates a verified user with a default organization, no password and the linked account, signs in and goes to the trusted callbackURL', async () => {
    const grace = person(google);
    const before = await rowCounts(t);
    const { end } = await socialSignIn(grace.sub, { callbackURL: `${TRUSTED}/welcome?x=1` });
    expect(end.status).toBe(303);
    expect(end.location).toBe(`${TRUSTED}/welcome?x=1`);
    const cookie = end.headers
      .getSetCookie()
      .find((c) => c.startsWith('session='))!
      .split(';')[0]!;
    const user = await sessionUser(cookie);
    expect(user?.email).toBe(grace.email);

    const [row] = await sql<{ id: string; verified_at: Date | null; full_name: string }>(
      'select id, verified_at, full_name from users where email = ?',
      [grace.email],
    );
    expect(row!.verified_at).not.toBeNull();
    expect(row!.full_name).toBe('Grace Hopper');
    const accounts = await sql<{
      provider_id: string;
      account_id: string;
      email: string;
      password_hash: string | null;
    }>('select provider_id, account_id, email, password_hash from accounts where user_id = ?', [row!.id]);
    expect(accounts).toEqual([
      { provider_id: 'google', account_id: grace.sub, email: grace.email, password_hash: null },
    ]);
    const members = await sql<{ role: string }>('select role from members where user_id = ?', [row!.id]);
    expect(members).toEqual([{ role: 'owner' }]);
    const [login] = await sql<{ method: string; outcome: string; provider: string | null }>(
      'select method, outcome, provider from login_history where user_id = ? order by created_at desc limit 1',
      [row!.id],
    );
    expect(login).toEqual({ method: 'social', outcome: 'success', provider: 'google' });
    const after = await rowCounts(t);
    expect(after.users - before.users).toBe(1);
    expect(after.accounts - before.accounts).toBe(1);
  });

  it('goes to APP_URL when the callbackURL is not on a trusted origin', async () => {
    const { end } = await socialSignIn(person(google).sub, { callbackURL: 'https://evil.example.net/steal' });
    expect(end.status).toBe(303);
    expect(end.location).toBe(`${APP_URL}/`);
  });

  it('accepts the other parameters a provider adds to its answer (scope, authuser, prompt, session_state)', async () => {
    const grace = person(google);
    const b = flowBrowser(t);
    const start = await b.get('/api/auth/social/google');
    const answer = await google.signIn(start.location!, grace.sub);
    for (const [name, value] of Object.entries({
      scope: 'openid email',
      authuser: '0',
      prompt: 'none',
      session_state: 'abc.def',
      hd: 'x',
    })) {
      answer.searchParams.set(name, value);
    }
    const end = await b.get(answer);
    expect(end.status).toBe(303);
  });

  it('reads the claims from the userinfo endpoint of a generic issuer whose ID token carries only sub', async () => {
    const lin = person(corporate, { name: 'Lin Chen' });
    const { end } = await socialSignIn(lin.sub, { provider: 'acme', upstream: corporate });
    expect(end.status).toBe(303);
    const [account] = await sql<{ provider_id: string; account_id: string }>(
      'select a.provider_id, a.account_id from accounts a join users u on u.id = a.user_id where u.email = ?',
      [lin.email],
    );
    expect(account).toEqual({ provider_id: 'acme', account_id: lin.sub });
  });
});

describe('linking to an existing user', () => {
  it('links the provider to the user whose verified address the provider verified too, and signs that user in', async () => {
    const existing = await signUp(t);
    const same = person(google, { email: existing.email });
    const { end } = await socialSignIn(same.sub);
    expect(end.status).toBe(303);
    const cookie = end.headers
      .getSetCookie()
      .find((c) => c.startsWith('session='))!
      .split(';')[0]!;
    expect((await sessionUser(cookie))?.id).toBe(existing.userId);
    const providers = await sql<{ provider_id: string }>(
      'select provider_id from accounts where user_id = ? order by provider_id',
      [existing.userId],
    );
    expect(providers.map((p) => p.provider_id)).toEqual(['credential', 'google']);
  });

  it('refuses with 409 ACCOUNT_NOT_LINKED when the existing user never verified the address, and creates nothing', async () => {
    const unverified = await signUp(t, { verified: false });
    const same = person(google, { email: unverified.email });
    const before = await rowCounts(t);
    const { end } = await socialSignIn(same.sub);
    expect(end.status).toBe(409);
    expect(end.body.code).toBe('ACCOUNT_NOT_LINKED');
    expect(end.body.meta.reason).toBe('account-email-unverified');
    expect(await rowCounts(t)).toEqual(before);
  });

  it('never links through an address the provider does not vouch for: 409 ACCOUNT_NOT_LINKED for an existing user, 403 EMAIL_NOT_VERIFIED for a new one', async () => {
    const existing = await signUp(t);
    const before = await rowCounts(t);
    const claimed = person(google, { email: existing.email, email_verified: false });
    const refused = await socialSignIn(claimed.sub);
    expect(refused.end.status).toBe(409);
    expect(refused.end.body.code).toBe('ACCOUNT_NOT_LINKED');
    expect(refused.end.body.meta.reason).toBe('provider-email-unverified');

    const stranger = person(google, { email_verified: false });
    const unvouched = await socialSignIn(stranger.sub);
    expect(unvouched.end.status).toBe(403);
    expect(unvouched.end.body.code).toBe('EMAIL_NOT_VERIFIED');
    expect(unvouched.end.body.meta.reason).toBe('provider-email-unverified');
    expect(await rowCounts(t)).toEqual(before);
    const [login] = await sql<{
      user_id: string | null;
      outcome: string;
      reason: string;
      provider: string;
      email: string;
    }>('select user_id, outcome, reason, provider, email from login_history where email = ?', [stranger.email]);
    expect(login).toEqual({
      user_id: null,
      outcome: 'failure',
      reason: 'provider-email-unverified',
      provider: 'google',
      email: stranger.email,
    });
  });
});

describe('a later sign-in', () => {
  it('finds the linked account by the provider subject, even after the address changed at the provider', async () => {
    const grace = person(google);
    const first = await socialSignIn(grace.sub);
    const firstCookie = first.end.headers
      .getSetCookie()
      .find((c) => c.startsWith('session='))!
      .split(';')[0]!;
    const userId = (await sessionUser(firstCookie))!.id;

    const moved = uniqueEmail('moved');
    google.setAccount({ ...grace, email: moved });
    const before = await rowCounts(t);
    const second = await socialSignIn(grace.sub);
    expect(second.end.status).toBe(303);
    const cookie = second.end.headers
      .getSetCookie()
      .find((c) => c.startsWith('session='))!
      .split(';')[0]!;
    expect((await sessionUser(cookie))!.id).toBe(userId);
    const after = await rowCounts(t);
    expect(after.users).toBe(before.users);
    expect(after.accounts).toBe(before.accounts);
    const [account] = await sql<{ email: string }>(
      "select email from accounts where user_id = ? and provider_id = 'google'",
      [userId],
    );
    expect(account!.email).toBe(moved);
  });

  it('refuses a deactivated user with 401 USER_NOT_ACTIVE', async () => {
    const grace = person(google);
    const first = await socialSignIn(grace.sub);
    expect(first.end.status).toBe(303);
    await sql('update users set is_active = false where email = ?', [grace.email]);
    const second = await socialSignIn(grace.sub);
    expect(second.end.status).toBe(401);
    expect(second.end.body.code).toBe('USER_NOT_ACTIVE');
  });

  it('hands a user with two-factor on the second step: the challenge cookie and twoFactorRequired=true, no session', async () => {
    const existing = await signUp(t);
    await addSecondFactor(t, existing.userId, 'totp');
    const same = person(google, { email: existing.email });
    const { end } = await socialSignIn(same.sub, { callbackURL: `${TRUSTED}/after` });
    expect(end.status).toBe(303);
    expect(end.location).toBe(`${TRUSTED}/after?twoFactorRequired=true`);
    const cookies = end.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith('two_factor_challenge='))).toBe(true);
    expect(cookies.some((c) => c.startsWith('session='))).toBe(false);
  });
});

describe('the second step after a social sign-in', () => {
  it('ends in a session whose history row names the provider, like the first step', async () => {
    const existing = await signUp(t);
    const fromApp = { origin: APP_URL };
    const enabled = await postJson(
      t,
      '/api/auth/two-factor/enable',
      { password: existing.password },
      existing.cookie,
      fromApp,
    );
    expect(enabled.status, JSON.stringify(enabled.body)).toBe(200);
    const { totpURI, backupCodes } = enabled.body.data;
    const key = decodeBase32IgnorePadding(new URL(totpURI).searchParams.get('secret')!);
    const code = generateHOTP(key, BigInt(Math.floor(Date.now() / 30_000)), 6);
    expect((await postJson(t, '/api/auth/two-factor/confirm', { code }, existing.cookie, fromApp)).status).toBe(200);

    const same = person(google, { email: existing.email });
    const { end } = await socialSignIn(same.sub);
    const challenge = end.headers
      .getSetCookie()
      .find((c) => c.startsWith('two_factor_challenge='))!
      .split(';')[0]!;
    const verified = await postJson(
      t,
      '/api/auth/two-factor/verify-backup-code',
      { code: backupCodes[0] },
      challenge,
      fromApp,
    );
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    const rows = await sql<{ method: string; outcome: string; provider: string | null }>(
      'select method, outcome, provider from login_history where user_id = ? order by id desc limit 2',
      [existing.userId],
    );
    expect(rows).toEqual([
      { method: 'backup', outcome: 'success', provider: 'google' },
      { method: 'social', outcome: 'challenged', provider: 'google' },
    ]);
  });
});

describe('a provider that cannot be reached', () => {
  it('answers 503 SERVICE_UNAVAILABLE, never 500, at the start and at the callback', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const flaky = await startUpstreamOidc({
      clients: [{ client_id: 'c', client_secret: 's', redirect_uris: [`${base}/api/auth/social/flaky/callback`] }],
    });
    const deadPort = await freePort();
    const app = await startTestApp({
      port,
      env: {
        BASE_URL: base,
        RATE_LIMIT_SIGN_IN_POINTS: '1000',
        GOOGLE_CLIENT_ID: 'c',
        GOOGLE_CLIENT_SECRET: 's',
        GOOGLE_ISSUER: `http://127.0.0.1:${deadPort}`,
        OIDC_PROVIDER_ID: 'flaky',
        OIDC_ISSUER: flaky.issuer,
        OIDC_CLIENT_ID: 'c',
        OIDC_CLIENT_SECRET: 's',
      },
    });
    try {
      const dead = await app.request('/api/auth/social/google', { redirect: 'manual' });
      expect(dead.status).toBe(503);
      expect(dead.body.code).toBe('SERVICE_UNAVAILABLE');
      expect(dead.headers.get('retry-after')).toBe('5');

      const someone = { sub: 'flaky-1', email: uniqueEmail('flaky'), email_verified: true };
      flaky.setAccount(someone);
      const b = flowBrowser(app);
      const start = await b.get('/api/auth/social/flaky');
      const answer = await flaky.signIn(start.location!, someone.sub);
      await flaky.stop();
      const end = await b.get(answer);
      expect(end.status).toBe(503);
      expect(end.body.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      await app.close();
      await flaky.stop().catch(() => {});
    }
  });
});
