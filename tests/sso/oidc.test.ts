/**
 * Enterprise SSO over OpenID Connect end to end over REST, against a real upstream provider
 * (node-oidc-provider on loopback, tests/support/upstream-oidc.ts): the start (state, nonce, PKCE S256,
 * the browser binding), the callback, just-in-time membership, and every refusal with its code,
 * reason, login history row and nothing created.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { sessionCookieFrom, signUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { createSsoConnection, uniqueDomain } from '../support/sso-connections.js';
import { defaultOrganizationId } from '../support/tenancy.js';
import { startUpstreamOidc, type UpstreamOidc } from '../support/upstream-oidc.js';
import { ROOMY_PLANS } from '../support/plans.js';

const APP_URL = 'https://app.example.com';
const CLIENT = { client_id: 'sso-app', client_secret: 'sso-client-secret' };

let t: TestApp;
let upstream: UpstreamOidc;
let organizationId: string;
let domain: string;
let providerId: string;

const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
  t.services.orm.em.fork().getConnection().execute<T[]>(query, params);

beforeAll(async () => {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  t = await startTestApp({
    port,
    env: {
      BILLING_PLANS: ROOMY_PLANS,
      STRIPE_SECRET_KEY: 'sk_test_x',
      BASE_URL: baseUrl,
      APP_URL,
      TRUSTED_ORIGINS: `http://localhost:3000,${APP_URL},${baseUrl}`,
      SSO_ALLOW_HTTP: 'true',
      // Every start spends the sign-in budget; this file starts many from one address.
      RATE_LIMIT_SIGN_IN_POINTS: '1000',
    },
  });
  const owner = await signUp(t);
  organizationId = await defaultOrganizationId(t, owner.userId);
  domain = uniqueDomain();
  // The connection names the issuer, and the provider the connection's redirect URI: the port comes first.
  const upstreamPort = await freePort();
  providerId = await createSsoConnection(t, {
    type: 'oidc',
    organizationId,
    domains: [domain],
    unverifiedDomains: [`pending-${domain}`],
    defaultRole: 'member',
    issuer: `http://127.0.0.1:${upstreamPort}`,
    clientId: CLIENT.client_id,
    clientSecret: CLIENT.client_secret,
  });
  upstream = await startUpstreamOidc({
    port: upstreamPort,
    clients: [
      {
        ...CLIENT,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [`${baseUrl}/api/auth/sso/${providerId}/callback`],
      },
    ],
  });
});
afterAll(async () => {
  await t?.close();
  await upstream?.stop();
});
afterEach(() => upstream.tamperIdTokens(null));

let accounts = 0;
/** An account at the provider, on `at` (the verified domain by default). */
function account(at = domain, claims: { email?: string | null; name?: string } = {}) {
  const sub = `employee-${++accounts}-${Date.now()}`;
  const email = claims.email === null ? undefined : (claims.email ?? `${sub}@${at}`);
  upstream.setAccount({ sub, email, email_verified: false, name: claims.name ?? 'Grace Hopper' });
  return { sub, email: email ?? null };
}

/** Starts the sign-in as a browser follows the link: the provider's URL and the binding cookie. */
async function start(callbackURL?: string) {
  const query = new URLSearchParams({ providerId, ...(callbackURL ? { callbackURL } : {}) });
  const res = await fetch(`${t.url}/api/auth/sso/sign-in?${query}`, { redirect: 'manual' });
  expect(res.status, await res.clone().text()).toBe(303);
  const binding = res.headers
    .getSetCookie()
    .find((c) => c.startsWith('federation='))
    ?.split(';')[0];
  expect(binding).toBeDefined();
  return { location: new URL(res.headers.get('location')!), binding: binding! };
}

/** Opens our callback URL (as the provider redirected to it) in the browser that holds `cookie`. */
async function callback(url: URL, cookie?: string) {
  const res = await fetch(`${t.url}${url.pathname}${url.search}`, {
    redirect: 'manual',
    headers: cookie ? { cookie } : {},
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function signIn(sub: string, callbackURL?: string) {
  const started = await start(callbackURL);
  const answer = await upstream.signIn(started.location, sub);
  return { answer, binding: started.binding, res: await callback(answer, started.binding) };
}

async function counts() {
  const [row] = await sql<Record<string, string>>(
    `select (select count(*) from users) as users, (select count(*) from accounts) as accounts,
            (select count(*) from members) as members, (select count(*) from sessions) as sessions`,
  );
  return row;
}

async function lastLoginRow() {
  const [row] = await sql<{
    method: string;
    outcome: string;
    reason: string | null;
    provider: string;
    email: string | null;
  }>('select method, outcome, reason, provider, email from login_history order by created_at desc, id desc limit 1');
  return row!;
}

async function expectRefused(
  attempt: () => Promise<{ status: number; body: any; headers: Headers }>,
  expected: { status: number; code: string; reason: string; email?: string | null; app?: TestApp; provider?: string },
) {
  const before = await counts();
  const res = await attempt();
  expect(res.status, JSON.stringify(res.body)).toBe(expected.status);
  expect(res.body).toMatchObject({ success: false, code: expected.code, meta: { reason: expected.reason } });
  expect(sessionCookieFrom(res.headers)).toBeUndefined();
  expect(await counts()).toEqual(before);
  const row = await lastLoginRow();
  expect(row).toMatchObject({
    method: 'sso',
    outcome: 'failure',
    reason: expected.reason,
    provider: expected.provider ?? `sso:${providerId}`,
  });
  if (expected.email !== undefined) expect(row.email).toBe(expected.email);
}

describe('starting an OpenID Connect sign-in', () => {
  it('redirects to the provider with state, nonce and PKCE S256 for our redirect URI, bound to this browser', async () => {
    const { location } = await start();
    expect(`${location.origin}${location.pathname}`).toBe(`${upstream.issuer}/auth`);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      client_id: CLIENT.client_id,
      response_type: 'code',
      redirect_uri: `${t.services.config.baseUrl}/api/auth/sso/${providerId}/callback`,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
    });
    expect(location.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('nonce')).toBeTruthy();
    expect(location.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [flow] = await sql<{ kind: string; provider: string; connection_id: string; secrets: string }>(
      'select kind, provider, connection_id, secrets from federated_states order by created_at desc limit 1',
    );
    expect(flow).toMatchObject({ kind: 'sso', provider: `sso:${providerId}`, connection_id: providerId });
    // The nonce is kept encrypted, never as it was sent.
    expect(flow!.secrets).not.toContain(location.searchParams.get('nonce'));
  });

  it('refuses an http issuer unless SSO_ALLOW_HTTP=true, with a clear 400 in the login history', async () => {
    const strict = await startTestApp({ env: { APP_URL } });
    try {
      const owner = await signUp(strict);
      const id = await createSsoConnection(strict, {
        type: 'oidc',
        organizationId: await defaultOrganizationId(strict, owner.userId),
        issuer: upstream.issuer,
        clientId: CLIENT.client_id,
        clientSecret: CLIENT.client_secret,
      });
      const res = await strict.request(`/api/auth/sso/sign-in?providerId=${id}`, { redirect: 'manual' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'BAD_REQUEST', meta: { reason: 'insecure-issuer' } });
      const [row] = await strict.services.orm.em
        .fork()
        .getConnection()
        .execute('select reason, provider from login_history where provider is not null');
      expect(row).toEqual({ reason: 'insecure-issuer', provider: `sso:${id}` });
    } finally {
      await strict.close();
    }
  });

  it('answers FEDERATION_FAILED when the issuer cannot be reached', async () => {
    const id = await createSsoConnection(t, {
      type: 'oidc',
      organizationId,
      issuer: `http://127.0.0.1:${await freePort()}`,
      clientId: 'x',
      clientSecret: 'y',
    });
    const res = await t.request(`/api/auth/sso/sign-in?providerId=${id}`, { redirect: 'manual' });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'FEDERATION_FAILED', meta: { reason: 'provider-unreachable' } });
  });
});

describe('an OpenID Connect sign-in', () => {
  it('creates a new user just in time, a member with the connection’s role, signed in by SSO', async () => {
    const employee = account(domain, { name: 'Grace Hopper' });
    const callbackURL = `${APP_URL}/after-sso`;
    const { res } = await signIn(employee.sub, callbackURL);
    expect(res.status, JSON.stringify(res.body)).toBe(303);
    expect(res.headers.get('location')).toBe(callbackURL);
    const cookie = sessionCookieFrom(res.headers)!;
    const me = await t.request('/api/user/me', { headers: { cookie } });
    expect(me.body.data).toMatchObject({ email: employee.email, fullName: 'Grace Hopper', isVerified: true });
    const userId: string = me.body.data.id;

    expect(await sql('select auth_methods, sso_organization_id from sessions where user_id = ?', [userId])).toEqual([
      { auth_methods: ['sso'], sso_organization_id: organizationId },
    ]);
    expect(await sql('select provider_id, account_id from accounts where user_id = ?', [userId])).toEqual([
      { provider_id: `sso:${providerId}`, account_id: employee.sub },
    ]);
    expect(
      await sql('select role from members where organization_id = ? and user_id = ?', [organizationId, userId]),
    ).toEqual([{ role: 'member' }]);
    const [joined] = await sql<{ metadata: Record<string, unknown> }>(
      `select metadata from audit_logs where organization_id = ? and action = 'member.joined' and metadata->>'userId' = ?`,
      [organizationId, userId],
    );
    expect(joined?.metadata).toMatchObject({ via: 'sso', connectionId: providerId, role: 'member' });
    expect(await lastLoginRow()).toMatchObject({ method: 'sso', outcome: 'success', provider: `sso:${providerId}` });
  });

  it('refuses a just-in-time join beyond the plan’s seats: PLAN_LIMIT_REACHED, nothing created, recorded', async () => {
    const [{ members }] = (await sql<{ members: number }>(
      'select count(*)::int as members from members where organization_id = ?',
      [organizationId],
    )) as [{ members: number }];
    await sql(
      `insert into subscriptions (organization_id, stripe_subscription_id, tier, interval, seats, status, stripe_updated_at, updated_at)
       values (?, 'sub_jit', 'pro', 'month', ?, 'active', now(), now())`,
      [organizationId, members],
    );
    try {
      const employee = account();
      const { res } = await signIn(employee.sub);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({
        code: 'PLAN_LIMIT_REACHED',
        meta: { limit: members, usage: members, tier: 'pro' },
      });
      expect(await sql('select id from users where email = ?', [employee.email])).toEqual([]);
      expect(await lastLoginRow()).toMatchObject({ outcome: 'failure', reason: 'plan_limit_reached' });
    } finally {
      await sql('delete from subscriptions where organization_id = ?', [organizationId]);
    }
  });

  it('links an existing user with the verified address, by the provider’s subject from then on', async () => {
    const email = `existing-${Date.now()}@${domain}`;
    const existing = await signUp(t, { email });
    const employee = account(domain, { email });
    const first = await signIn(employee.sub);
    expect(first.res.status, JSON.stringify(first.res.body)).toBe(303);
    const me = await t.request('/api/user/me', { headers: { cookie: sessionCookieFrom(first.res.headers)! } });
    expect(me.body.data.id).toBe(existing.userId);
    expect(
      await sql('select role from members where organization_id = ? and user_id = ?', [
        organizationId,
        existing.userId,
      ]),
    ).toEqual([{ role: 'member' }]);
    const second = await signIn(employee.sub);
    expect(second.res.status).toBe(303);
    expect(await sql('select count(*)::int as n from accounts where user_id = ?', [existing.userId])).toEqual([
      { n: 2 },
    ]);
  });
});

describe('refused OpenID Connect answers', () => {
  it('an unknown state: invalid-state', async () => {
    const { binding } = await start();
    const url = new URL(`/api/auth/sso/${providerId}/callback?code=abc&state=${'A'.repeat(43)}`, t.url);
    await expectRefused(() => callback(url, binding), {
      status: 400,
      code: 'INVALID_FEDERATION_STATE',
      reason: 'invalid-state',
    });
  });

  it('the same callback twice: state-replayed', async () => {
    const { answer, binding, res } = await signIn(account().sub);
    expect(res.status).toBe(303);
    await expectRefused(() => callback(answer, binding), {
      status: 400,
      code: 'INVALID_FEDERATION_STATE',
      reason: 'state-replayed',
    });
  });

  it('a callback opened in another browser (login CSRF): browser-mismatch', async () => {
    const started = await start();
    const answer = await upstream.signIn(started.location, account().sub);
    await expectRefused(() => callback(answer), {
      status: 400,
      code: 'INVALID_FEDERATION_STATE',
      reason: 'browser-mismatch',
    });
  });

  it('the provider’s error answer: provider-error', async () => {
    const { location, binding } = await start();
    const url = new URL(`/api/auth/sso/${providerId}/callback`, t.url);
    url.search = new URLSearchParams({ error: 'access_denied', state: location.searchParams.get('state')! }).toString();
    await expectRefused(() => callback(url, binding), {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'provider-error',
    });
  });

  it('another issuer, in the response parameter or in the ID token: issuer-mismatch', async () => {
    const started = await start();
    const answer = await upstream.signIn(started.location, account().sub);
    answer.searchParams.set('iss', 'https://evil.example.com');
    await expectRefused(() => callback(answer, started.binding), {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'issuer-mismatch',
    });

    upstream.tamperIdTokens((claims) => ({ ...claims, iss: 'https://evil.example.com' }));
    await expectRefused(async () => (await signIn(account().sub)).res, {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'issuer-mismatch',
    });
  });

  it('an ID token for another client: audience-mismatch', async () => {
    upstream.tamperIdTokens((claims) => ({ ...claims, aud: 'someone-else' }));
    await expectRefused(async () => (await signIn(account().sub)).res, {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'audience-mismatch',
    });
  });

  it('an ID token answering another sign-in: nonce-mismatch', async () => {
    upstream.tamperIdTokens((claims) => ({ ...claims, nonce: 'not-ours' }));
    await expectRefused(async () => (await signIn(account().sub)).res, {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'nonce-mismatch',
    });
  });

  it('an expired ID token: id-token-expired', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    upstream.tamperIdTokens((claims) => ({ ...claims, iat: past - 600, exp: past }));
    await expectRefused(async () => (await signIn(account().sub)).res, {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'id-token-expired',
    });
  });

  it('an ID token signed with a key the provider never published: signature-invalid', async () => {
    upstream.tamperIdTokens((claims) => claims, { foreignKey: true });
    await expectRefused(async () => (await signIn(account().sub)).res, {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'signature-invalid',
    });
  });

  it('an address on a domain the connection has not verified, or does not serve: domain-not-verified', async () => {
    for (const at of [`pending-${domain}`, 'elsewhere.example.com']) {
      const employee = account(at);
      await expectRefused(async () => (await signIn(employee.sub)).res, {
        status: 403,
        code: 'DOMAIN_NOT_VERIFIED',
        reason: 'domain-not-verified',
        email: employee.email,
      });
    }
  });

  it('a code the provider never issued (forged, or already redeemed): token-exchange-failed', async () => {
    await expectRefused(
      async () => {
        const started = await start();
        const answer = await upstream.signIn(started.location, account().sub);
        answer.searchParams.set('code', 'forged-code');
        return callback(answer, started.binding);
      },
      { status: 401, code: 'FEDERATION_FAILED', reason: 'token-exchange-failed' },
    );
  });

  it('no address at all: email-missing', async () => {
    await expectRefused(async () => (await signIn(account(domain, { email: null }).sub)).res, {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'email-missing',
    });
  });

  it('a callback of an unknown or SAML connection: 404', async () => {
    const saml = await createSsoConnection(t, {
      type: 'saml',
      organizationId,
      idpEntityId: 'https://idp.example.com',
      ssoUrl: 'https://idp.example.com/sso',
      certificates: [],
    });
    for (const id of ['01JAAAAAAAAAAAAAAAAAAAAAAA', saml, 'bogus']) {
      const res = await callback(new URL(`/api/auth/sso/${id}/callback?code=x&state=y`, t.url));
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'NOT_FOUND' });
    }
  });
});
