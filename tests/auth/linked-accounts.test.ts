/**
 * Linked accounts: GET /auth/accounts lists my ways to sign in, DELETE /auth/accounts/{accountId}
 * unlinks one while another way in remains; /user/me/export and the login history show them.
 * Accounts are linked for real, through a node-oidc-provider upstream playing two providers.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, ORIGIN, PASSWORD, signUp, uniqueEmail } from '../support/identity.js';
import { addSecondFactor } from '../support/mfa.js';
import { freePort } from '../support/net.js';
import { flowBrowser } from '../support/social.js';
import { startUpstreamOidc, type UpstreamOidc } from '../support/upstream-oidc.js';

let t: TestApp;
let upstream: UpstreamOidc;

beforeAll(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  upstream = await startUpstreamOidc({
    clients: [
      {
        client_id: 'client',
        client_secret: 'secret',
        redirect_uris: [`${base}/api/auth/social/google/callback`, `${base}/api/auth/social/acme/callback`],
      },
    ],
  });
  t = await startTestApp({
    port,
    env: {
      BASE_URL: base,
      TRUSTED_ORIGINS: ORIGIN,
      RATE_LIMIT_SIGN_IN_POINTS: '1000',
      RATE_LIMIT_SIGN_UP_POINTS: '1000',
      GOOGLE_CLIENT_ID: 'client',
      GOOGLE_CLIENT_SECRET: 'secret',
      GOOGLE_ISSUER: upstream.issuer,
      OIDC_PROVIDER_ID: 'acme',
      OIDC_ISSUER: upstream.issuer,
      OIDC_CLIENT_ID: 'client',
      OIDC_CLIENT_SECRET: 'secret',
    },
  });
});
afterAll(async () => {
  await t?.close();
  await upstream?.stop();
});

/** Signs in (or links) through `provider` as a provider account with `email`: the session cookie. */
async function viaProvider(provider: 'google' | 'acme', email: string): Promise<string> {
  const sub = `${provider}-${randomBytes(6).toString('hex')}`;
  upstream.setAccount({ sub, email, email_verified: true, name: 'Linked User' });
  const b = flowBrowser(t);
  const start = await b.get(`/api/auth/social/${provider}`);
  const end = await b.get(await upstream.signIn(start.location!, sub));
  expect(end.status).toBe(303);
  return `session=${b.cookies.get('session')}`;
}

const list = (cookie: string) => t.request('/api/auth/accounts', { headers: asBrowser(cookie) });
const unlink = (cookie: string, accountId: string, body: Record<string, unknown> = {}) =>
  t.request(`/api/auth/accounts/${accountId}`, {
    method: 'DELETE',
    headers: asBrowser(cookie),
    body: JSON.stringify(body),
  });

type Listed = { id: string; providerId: string; email: string | null; createdAt: string };
const items = async (cookie: string): Promise<Listed[]> => (await list(cookie)).body.data;

describe('listing my sign-in methods', () => {
  it('shows the password as `credential` without an address and each linked provider with the address it vouched for', async () => {
    const user = await signUp(t);
    await viaProvider('google', user.email);
    const listed = await items(user.cookie);
    expect(listed.map(({ providerId, email }) => ({ providerId, email }))).toEqual([
      { providerId: 'credential', email: null },
      { providerId: 'google', email: user.email },
    ]);
    expect(listed[1]!.createdAt).toMatch(/Z$/);
  });

  it('is for sessions only', async () => {
    const res = await t.request('/api/auth/accounts');
    expect(res.status).toBe(401);
  });
});

describe('unlinking', () => {
  it('unlinks a provider from a user with a password, confirmed with it', async () => {
    const user = await signUp(t);
    await viaProvider('google', user.email);
    const google = (await items(user.cookie)).find((a) => a.providerId === 'google')!;

    const unconfirmed = await unlink(user.cookie, google.id);
    expect(unconfirmed.status).toBe(403);
    expect(unconfirmed.body.code).toBe('REAUTHENTICATION_REQUIRED');

    const res = await unlink(user.cookie, google.id, { password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ id: google.id, providerId: 'google' });
    expect((await items(user.cookie)).map((a) => a.providerId)).toEqual(['credential']);
  });

  it('refuses to unlink the only way a user has to sign in with 409 CONFLICT, and allows it once a passkey or another provider exists', async () => {
    const email = uniqueEmail('only-social');
    const cookie = await viaProvider('google', email);
    const [google] = await items(cookie);
    const refused = await unlink(cookie, google!.id);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('CONFLICT');
    expect(refused.body.message).toMatch(/only way to sign in/);

    // A second provider linked through the same verified address: either can now go, not both.
    await viaProvider('acme', email);
    const both = await items(cookie);
    expect(both.map((a) => a.providerId).sort()).toEqual(['acme', 'google']);
    expect((await unlink(cookie, google!.id)).status).toBe(200);
    const acme = both.find((a) => a.providerId === 'acme')!;
    expect((await unlink(cookie, acme.id)).status).toBe(409);

    const [row] = await t.services.orm.em
      .fork()
      .getConnection()
      .execute<{ user_id: string }[]>('select user_id from accounts where id = ?', [acme.id]);
    await addSecondFactor(t, row!.user_id, 'passkey');
    expect((await unlink(cookie, acme.id)).status).toBe(200);
    expect(await items(cookie)).toEqual([]);
  });

  it('lets only one of two simultaneous unlinks of the last two providers through', async () => {
    const email = uniqueEmail('race');
    const cookie = await viaProvider('google', email);
    await viaProvider('acme', email);
    const both = await items(cookie);
    const answers = await Promise.all(both.map((a) => unlink(cookie, a.id)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(await items(cookie)).toHaveLength(1);
  });

  it("answers 404 for another user's account and for an unknown id; 409 for the password itself", async () => {
    const owner = await signUp(t);
    await viaProvider('google', owner.email);
    const [password, google] = await items(owner.cookie);
    const other = await signUp(t);
    for (const id of [google!.id, '01JAAAAAAAAAAAAAAAAAAAAAAA']) {
      const res = await unlink(other.cookie, id, { password: PASSWORD });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
    }
    const own = await unlink(owner.cookie, password!.id, { password: PASSWORD });
    expect(own.status).toBe(409);
    expect(own.body.code).toBe('CONFLICT');
    expect((await items(owner.cookie)).length).toBe(2);
  });
});

describe('my data', () => {
  it('exports the linked accounts (provider, address, when) without the provider subject, and the history names the provider', async () => {
    const user = await signUp(t);
    upstream.setAccount({ sub: 'subject-not-exported', email: user.email, email_verified: true });
    const b = flowBrowser(t);
    const start = await b.get('/api/auth/social/google');
    await b.get(await upstream.signIn(start.location!, 'subject-not-exported'));

    const exported = await t.request('/api/user/me/export', { headers: asBrowser(user.cookie) });
    expect(exported.status).toBe(200);
    expect(exported.body.data.linkedAccounts).toEqual([
      { provider: 'google', email: user.email, createdAt: expect.stringMatching(/Z$/) },
    ]);
    expect(JSON.stringify(exported.body)).not.toContain('subject-not-exported');

    const history = await t.request('/api/user/me/login-history', { headers: asBrowser(user.cookie) });
    const providers = history.body.data.map((e: { method: string; provider: string | null }) => [e.method, e.provider]);
    expect(providers).toContainEqual(['social', 'google']);
    expect(providers).toContainEqual(['pwd', null]);
  });
});
