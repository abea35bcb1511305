/**
 * Enterprise SSO over SAML 2.0 end to end over REST, against a real SAML identity provider (samlify in
 * IdP mode, signing with a certificate made for the test): the SP metadata, SP-initiated sign-in by the
 * redirect binding, the ACS by the POST binding (a form), just-in-time membership, and every refusal
 * with its code, reason, login history row and nothing created.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, sessionCookieFrom, signUp, uniqueEmail } from '../support/identity.js';
import { freePort } from '../support/net.js';
import {
  generateSigningCertificate,
  startSamlIdp,
  tamperedResponse,
  type ResponseOptions,
  type SamlAnswer,
  type SamlIdp,
  type SamlUser,
} from '../support/saml-idp.js';
import { createSsoConnection, uniqueDomain } from '../support/sso-connections.js';
import { defaultOrganizationId } from '../support/tenancy.js';
import { ROOMY_PLANS } from '../support/plans.js';

const APP_URL = 'https://app.example.com';

let t: TestApp;
let idp: SamlIdp;
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
      BASE_URL: baseUrl,
      APP_URL,
      TRUSTED_ORIGINS: `http://localhost:3000,${APP_URL},${baseUrl}`,
      SSO_ALLOW_HTTP: 'true',
      // Every start spends the sign-in budget; this file starts many from one address.
      RATE_LIMIT_SIGN_IN_POINTS: '1000',
      RATE_LIMIT_SIGN_UP_POINTS: '1000',
    },
  });
  idp = await startSamlIdp();
  const owner = await signUp(t);
  organizationId = await defaultOrganizationId(t, owner.userId);
  domain = uniqueDomain();
  providerId = await createSsoConnection(t, {
    type: 'saml',
    organizationId,
    domains: [domain],
    unverifiedDomains: [`pending-${domain}`],
    defaultRole: 'admin',
    idpEntityId: idp.entityId,
    ssoUrl: idp.ssoUrl,
    certificates: [idp.keys.certificatePem],
  });
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
});

const userAt = (at = domain, name = 'Jane Doe'): SamlUser => ({
  email: uniqueEmail('jane').replace(/@.*/, `@${at}`),
  name,
});

/** Starts a sign-in as a browser would follow the link; returns the IdP's redirect URL. */
async function startSignIn(id = providerId, callbackURL?: string): Promise<string> {
  const query = new URLSearchParams({ providerId: id, ...(callbackURL ? { callbackURL } : {}) });
  const res = await fetch(`${t.url}/api/auth/sso/sign-in?${query}`, { redirect: 'manual' });
  expect(res.status, await res.clone().text()).toBe(303);
  const location = res.headers.get('location')!;
  expect(location.startsWith(`${idp.ssoUrl}?`)).toBe(true);
  return location;
}

/** Posts the IdP's answer to the ACS as the IdP's page does (a form, from the IdP's origin). */
async function post(answer: Pick<SamlAnswer, 'SAMLResponse' | 'RelayState'>, id = providerId) {
  const form = new URLSearchParams({ SAMLResponse: answer.SAMLResponse });
  if (answer.RelayState) form.set('RelayState', answer.RelayState);
  const res = await fetch(`${t.url}/api/auth/sso/${id}/acs`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(idp.ssoUrl).origin },
    body: form,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** POST /auth/sso/sign-in, without following the redirect. */
const postStart = (body: unknown) =>
  t.request('/api/auth/sso/sign-in', {
    method: 'POST',
    redirect: 'manual',
    headers: asBrowser(),
    body: JSON.stringify(body),
  });

async function signInThroughIdp(user: SamlUser, options: ResponseOptions = {}, callbackURL?: string) {
  const answer = await idp.answer(await startSignIn(providerId, callbackURL), user, options);
  return { answer, res: await post(answer) };
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
    user_id: string | null;
  }>(
    'select method, outcome, reason, provider, email, user_id from login_history order by created_at desc, id desc limit 1',
  );
  return row!;
}

/** A refusal: its status, code and reason, a login history row, and nothing created. */
async function expectRefused(
  attempt: () => Promise<{ status: number; body: any; headers: Headers }>,
  expected: { status: number; code: string; reason: string; email?: string | null },
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
    provider: `sso:${providerId}`,
  });
  if (expected.email !== undefined) expect(row.email).toBe(expected.email);
  return res;
}

describe('SP metadata', () => {
  it('is served at the entity id URL as SAML metadata naming the ACS and asking for signed assertions', async () => {
    const url = `${t.services.config.baseUrl}/api/auth/sso/${providerId}/metadata`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/samlmetadata+xml');
    const xml = await res.text();
    expect(xml).toContain(`entityID="${url}"`);
    expect(xml).toContain(`Location="${t.services.config.baseUrl}/api/auth/sso/${providerId}/acs"`);
    expect(xml).toContain('urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
    expect(xml).toContain('WantAssertionsSigned="true"');
    // Stable: the same document every time.
    expect(await (await fetch(url)).text()).toBe(xml);
  });

  it('is 404 for an unknown connection, a malformed id and an OpenID Connect connection', async () => {
    const oidc = await createSsoConnection(t, {
      type: 'oidc',
      organizationId,
      issuer: 'https://idp.example.com',
      clientId: 'c',
      clientSecret: 's',
    });
    for (const id of ['01JAAAAAAAAAAAAAAAAAAAAAAA', 'not-an-id', oidc]) {
      const res = await t.request(`/api/auth/sso/${id}/metadata`);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ success: false, code: 'NOT_FOUND' });
    }
  });
});

describe('starting a SAML sign-in', () => {
  it('redirects to the IdP with a deflated AuthnRequest for our ACS and RelayState, recorded as a 10-minute flow', async () => {
    const location = new URL(await startSignIn());
    expect(location.searchParams.get('SAMLRequest')).toBeTruthy();
    const relayState = location.searchParams.get('RelayState');
    expect(relayState).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const [flow] = await sql<{
      kind: string;
      provider: string;
      saml_request_id: string;
      expires_at: Date;
      created_at: Date;
    }>(
      'select kind, provider, saml_request_id, expires_at, created_at from federated_states order by created_at desc limit 1',
    );
    expect(flow).toMatchObject({ kind: 'sso', provider: `sso:${providerId}` });
    expect(flow!.saml_request_id).toMatch(/^_[0-9a-f]{40}$/);
    expect(new Date(flow!.expires_at).getTime() - new Date(flow!.created_at).getTime()).toBe(10 * 60_000);
  });

  it('starts from POST with an email on a verified domain, and is 404 for a domain nobody verified', async () => {
    const res = await postStart({ email: `someone@${domain}` });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')!.startsWith(`${idp.ssoUrl}?SAMLRequest=`)).toBe(true);

    for (const email of [`someone@pending-${domain}`, 'someone@nobody.example.com']) {
      const missing = await postStart({ email });
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ code: 'NOT_FOUND' });
    }
    const unknown = await postStart({ providerId: '01JAAAAAAAAAAAAAAAAAAAAAAA' });
    expect(unknown.status).toBe(404);
  });

  it('takes exactly one of providerId and email', async () => {
    for (const body of [{}, { providerId, email: `a@${domain}` }]) {
      const res = await postStart(body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_ERROR' });
    }
  });
});

describe('a SAML sign-in', () => {
  it('creates a new user just in time, a member with the connection’s role, signed in by SSO', async () => {
    const user = userAt();
    const callbackURL = `${APP_URL}/welcome?tab=1`;
    const { res } = await signInThroughIdp(user, {}, callbackURL);
    expect(res.status, JSON.stringify(res.body)).toBe(303);
    expect(res.headers.get('location')).toBe(callbackURL);
    const cookie = sessionCookieFrom(res.headers)!;
    expect(cookie).toBeDefined();

    const me = await t.request('/api/user/me', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ email: user.email, fullName: 'Jane Doe', isVerified: true });
    const userId: string = me.body.data.id;

    const [session] = await sql<{ auth_methods: string[]; sso_organization_id: string }>(
      'select auth_methods, sso_organization_id from sessions where user_id = ?',
      [userId],
    );
    expect(session).toEqual({ auth_methods: ['sso'], sso_organization_id: organizationId });
    expect(await sql('select provider_id, account_id, email from accounts where user_id = ?', [userId])).toEqual([
      { provider_id: `sso:${providerId}`, account_id: user.email, email: user.email },
    ]);
    expect(
      await sql('select role from members where organization_id = ? and user_id = ?', [organizationId, userId]),
    ).toEqual([{ role: 'admin' }]);
    const [joined] = await sql<{ action: string; metadata: Record<string, unknown> }>(
      `select action, metadata from audit_logs where organization_id = ? and action = 'member.joined' and metadata->>'userId' = ?`,
      [organizationId, userId],
    );
    expect(joined?.metadata).toMatchObject({ via: 'sso', connectionId: providerId, role: 'admin' });
    expect(await lastLoginRow()).toMatchObject({ method: 'sso', outcome: 'success', user_id: userId });

    // Again later: the same account, no second membership.
    const again = await signInThroughIdp(user);
    expect(again.res.status).toBe(303);
    expect(again.res.headers.get('location')).toBe(`${APP_URL}/`);
    expect(await sql('select count(*)::int as n from members where user_id = ?', [userId])).toEqual([{ n: 2 }]);
  });

  it('links an existing user with the verified address and makes them a member', async () => {
    const email = `existing-${Date.now()}@${domain}`;
    const existing = await signUp(t, { email });
    const { res } = await signInThroughIdp({ email, name: 'Existing' });
    expect(res.status, JSON.stringify(res.body)).toBe(303);
    const me = await t.request('/api/user/me', { headers: { cookie: sessionCookieFrom(res.headers)! } });
    expect(me.body.data.id).toBe(existing.userId);
    expect(
      await sql('select provider_id from accounts where user_id = ? and provider_id like ?', [
        existing.userId,
        'sso:%',
      ]),
    ).toEqual([{ provider_id: `sso:${providerId}` }]);
    expect(
      await sql('select role from members where organization_id = ? and user_id = ?', [
        organizationId,
        existing.userId,
      ]),
    ).toEqual([{ role: 'admin' }]);
  });
});

describe('the SSO-required policy after a real sign-in', () => {
  it('lets in the session the sign-in made, and not the same user’s password session', async () => {
    const email = `required-${Date.now()}@${domain}`;
    const withPassword = await signUp(t, { email });
    const { res } = await signInThroughIdp({ email, name: 'Required' });
    expect(res.status, JSON.stringify(res.body)).toBe(303);
    const viaSso = sessionCookieFrom(res.headers)!;
    await sql('update sso_connections set required = true where id = ?', [providerId]);
    try {
      const members = `/api/user/organizations/${organizationId}/members`;
      expect((await t.request(members, { headers: { cookie: viaSso } })).body).toMatchObject({ status: 200 });
      expect((await t.request(members, { headers: { cookie: withPassword.cookie } })).body).toMatchObject({
        status: 403,
        code: 'SSO_REQUIRED',
        meta: { providerId },
      });
    } finally {
      await sql('update sso_connections set required = false where id = ?', [providerId]);
    }
  });
});

describe('a connection set up through /settings/sso', () => {
  it('from the IdP’s metadata, signs in once its domain is verified', async () => {
    const admin = await signUp(t);
    const organization = await defaultOrganizationId(t, admin.userId);
    const ownDomain = uniqueDomain('meta');
    const put = await t.request(`/api/user/organizations/${organization}/settings/sso`, {
      method: 'PUT',
      headers: asBrowser(admin.cookie),
      body: JSON.stringify({
        connections: [
          { name: 'Test IdP', type: 'saml', domains: [ownDomain], saml: { idpMetadataXml: idp.metadata() } },
        ],
      }),
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const connection = put.body.data.connections[0];
    expect(connection.saml).toMatchObject({
      idpEntityId: idp.entityId,
      ssoUrl: idp.ssoUrl,
      spMetadataUrl: `${t.services.config.baseUrl}/api/auth/sso/${connection.id}/metadata`,
      acsUrl: `${t.services.config.baseUrl}/api/auth/sso/${connection.id}/acs`,
    });
    // The DNS check itself is tested with the settings; here the domain is marked verified directly.
    await sql('update sso_domains set verified_at = now() where domain = ?', [ownDomain]);

    const user = userAt(ownDomain);
    const answer = await idp.answer(await startSignIn(connection.id), user);
    const res = await post(answer, connection.id);
    expect(res.status, JSON.stringify(res.body)).toBe(303);
    const me = await t.request('/api/user/me', { headers: { cookie: sessionCookieFrom(res.headers)! } });
    expect(me.body.data.email).toBe(user.email);
  });
});

describe('refused SAML answers', () => {
  it('an answer to no request of ours (unknown InResponseTo): invalid-state', async () => {
    const user = userAt();
    await expectRefused(
      async () => post(await idp.answer(await startSignIn(), user, { inResponseTo: '_unknown-request' })),
      { status: 400, code: 'INVALID_FEDERATION_STATE', reason: 'invalid-state' },
    );
  });

  it('the same response twice: state-replayed', async () => {
    const { answer, res } = await signInThroughIdp(userAt());
    expect(res.status).toBe(303);
    await expectRefused(() => post(answer), {
      status: 400,
      code: 'INVALID_FEDERATION_STATE',
      reason: 'state-replayed',
    });
  });

  it('an answer to another connection’s request: invalid-state', async () => {
    const other = await createSsoConnection(t, {
      type: 'saml',
      organizationId,
      idpEntityId: idp.entityId,
      ssoUrl: idp.ssoUrl,
      certificates: [idp.keys.certificatePem],
    });
    const answer = await idp.answer(await startSignIn(other), userAt());
    // Posted to this connection's ACS: the flow belongs to the other one.
    await expectRefused(() => post(answer), { status: 400, code: 'INVALID_FEDERATION_STATE', reason: 'invalid-state' });
  });

  it('the IdP’s own refusal (a Responder status): idp-refused', async () => {
    await expectRefused(
      async () =>
        (await signInThroughIdp(userAt(), { statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' })).res,
      { status: 401, code: 'FEDERATION_FAILED', reason: 'idp-refused' },
    );
  });

  it('another issuer: issuer-mismatch', async () => {
    await expectRefused(
      async () => (await signInThroughIdp(userAt(), { issuer: 'https://evil.example.com/idp' })).res,
      {
        status: 401,
        code: 'FEDERATION_FAILED',
        reason: 'issuer-mismatch',
      },
    );
  });

  it('another audience: audience-mismatch', async () => {
    await expectRefused(
      async () => (await signInThroughIdp(userAt(), { audience: 'https://other-sp.example.com' })).res,
      {
        status: 401,
        code: 'FEDERATION_FAILED',
        reason: 'audience-mismatch',
      },
    );
  });

  it('another recipient: recipient-mismatch', async () => {
    await expectRefused(
      async () => (await signInThroughIdp(userAt(), { recipient: 'https://other-sp.example.com/acs' })).res,
      { status: 401, code: 'FEDERATION_FAILED', reason: 'recipient-mismatch' },
    );
  });

  it('an expired assertion (past NotOnOrAfter beyond the 30-second skew): assertion-expired', async () => {
    const now = Date.now();
    await expectRefused(
      async () =>
        (
          await signInThroughIdp(userAt(), {
            notBefore: new Date(now - 10 * 60_000),
            notOnOrAfter: new Date(now - 60_000),
          })
        ).res,
      { status: 401, code: 'FEDERATION_FAILED', reason: 'assertion-expired' },
    );
  });

  it('an assertion not valid yet: assertion-not-yet-valid', async () => {
    const now = Date.now();
    await expectRefused(
      async () =>
        (
          await signInThroughIdp(userAt(), {
            notBefore: new Date(now + 5 * 60_000),
            notOnOrAfter: new Date(now + 10 * 60_000),
          })
        ).res,
      { status: 401, code: 'FEDERATION_FAILED', reason: 'assertion-not-yet-valid' },
    );
  });

  it('an unsigned assertion in a signed response: assertion-unsigned', async () => {
    await expectRefused(async () => (await signInThroughIdp(userAt(), { signAssertion: false })).res, {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'assertion-unsigned',
    });
  });

  it('a tampered assertion, and one signed by a key the connection does not trust: signature-invalid', async () => {
    const user = userAt();
    const answer = await idp.answer(await startSignIn(), user);
    const mallory = `mallory@${domain}`;
    await expectRefused(
      () => post({ ...answer, SAMLResponse: tamperedResponse(answer.SAMLResponse, user.email, mallory) }),
      {
        status: 401,
        code: 'FEDERATION_FAILED',
        reason: 'signature-invalid',
      },
    );
    const stranger = generateSigningCertificate('stranger');
    await expectRefused(async () => (await signInThroughIdp(userAt(), { signingKey: stranger })).res, {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'signature-invalid',
    });
  });

  it('an assertion id already used, in an answer to a new request: assertion-replayed', async () => {
    const first = await signInThroughIdp(userAt());
    expect(first.res.status).toBe(303);
    const user = userAt();
    await expectRefused(async () => (await signInThroughIdp(user, { assertionId: first.answer.assertionId })).res, {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'assertion-replayed',
      email: user.email,
    });
  });

  it('an address on a domain the connection has not verified, or does not serve: domain-not-verified', async () => {
    for (const at of [`pending-${domain}`, 'elsewhere.example.com']) {
      const user = userAt(at);
      await expectRefused(async () => (await signInThroughIdp(user)).res, {
        status: 403,
        code: 'DOMAIN_NOT_VERIFIED',
        reason: 'domain-not-verified',
        email: user.email,
      });
    }
  });

  it('an IdP-initiated response (answers no request): idp-initiated, unless the connection allows it', async () => {
    const metadataUrl = `${t.services.config.baseUrl}/api/auth/sso/${providerId}/metadata`;
    const user = userAt();
    await expectRefused(async () => post(await idp.unsolicited(metadataUrl, user)), {
      status: 401,
      code: 'FEDERATION_FAILED',
      reason: 'idp-initiated',
    });

    const allowedDomain = uniqueDomain('idp');
    const allowing = await createSsoConnection(t, {
      type: 'saml',
      organizationId,
      domains: [allowedDomain],
      allowIdpInitiated: true,
      idpEntityId: idp.entityId,
      ssoUrl: idp.ssoUrl,
      certificates: [idp.keys.certificatePem],
    });
    const allowingMetadata = `${t.services.config.baseUrl}/api/auth/sso/${allowing}/metadata`;
    const trusted = await post(
      await idp.unsolicited(allowingMetadata, userAt(allowedDomain), { relayState: `${APP_URL}/from-idp` }),
      allowing,
    );
    expect(trusted.status, JSON.stringify(trusted.body)).toBe(303);
    expect(trusted.headers.get('location')).toBe(`${APP_URL}/from-idp`);
    expect(sessionCookieFrom(trusted.headers)).toBeDefined();

    // Unasked answers get the same checks: a bearer confirmation past its time is refused.
    const late = await post(
      await idp.unsolicited(allowingMetadata, userAt(allowedDomain), {
        confirmationNotOnOrAfter: new Date(Date.now() - 60_000),
      }),
      allowing,
    );
    expect(late.status).toBe(401);
    expect(late.body).toMatchObject({ code: 'FEDERATION_FAILED', meta: { reason: 'assertion-expired' } });

    const untrusted = await post(
      await idp.unsolicited(allowingMetadata, userAt(allowedDomain), { relayState: 'https://evil.example.com/' }),
      allowing,
    );
    expect(untrusted.status).toBe(303);
    expect(untrusted.headers.get('location')).toBe(`${APP_URL}/`);
  });

  it('a response that is not base64, not XML or no SAML at all: invalid-response, never a 500', async () => {
    for (const SAMLResponse of [
      '%%% not base64 %%%',
      Buffer.from('<nope').toString('base64'),
      Buffer.from('<a/>').toString('base64'),
    ]) {
      await expectRefused(() => post({ SAMLResponse }), {
        status: 401,
        code: 'FEDERATION_FAILED',
        reason: 'invalid-response',
      });
    }
  });
});

describe('an oversized SAML response', () => {
  it('is refused before it is parsed: response-too-large', async () => {
    const flat = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${'<a/>'.repeat(20_000)}</samlp:Response>`;
    const deep = `${'<a>'.repeat(50_000)}${'</a>'.repeat(50_000)}`;
    for (const xml of [flat, deep]) {
      const startedAt = Date.now();
      await expectRefused(() => post({ SAMLResponse: Buffer.from(xml).toString('base64') }), {
        status: 401,
        code: 'FEDERATION_FAILED',
        reason: 'response-too-large',
      });
      expect(Date.now() - startedAt).toBeLessThan(2_000);
    }
  });
});

describe('the ACS body', () => {
  const acs = () => `${t.url}/api/auth/sso/${providerId}/acs`;

  it('takes JSON as well as a form, and refuses other media types and repeated fields', async () => {
    const json = await fetch(acs(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ SAMLResponse: Buffer.from('<a/>').toString('base64') }),
    });
    expect(json.status).toBe(401);
    expect(await json.json()).toMatchObject({ code: 'FEDERATION_FAILED', meta: { reason: 'invalid-response' } });

    const text = await fetch(acs(), {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'SAMLResponse=x',
    });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });

    const repeated = await fetch(acs(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'SAMLResponse=a&SAMLResponse=b',
    });
    expect(repeated.status).toBe(400);
    expect(await repeated.json()).toMatchObject({ code: 'BAD_REQUEST' });

    const nul = await fetch(acs(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'SAMLResponse=a%00b',
    });
    expect(nul.status).toBe(400);
    expect(await nul.json()).toMatchObject({ code: 'VALIDATION_ERROR' });

    const missing = await fetch(acs(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'RelayState=x',
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('is refused on a route without meta.form', async () => {
    const res = await fetch(`${t.url}/api/auth/sso/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `providerId=${providerId}`,
    });
    expect(res.status).toBe(415);
  });
});

describe('the OpenAPI document', () => {
  it('documents the ACS body as a form as well as JSON, and the SSO routes', async () => {
    const doc = (await t.request('/api/openapi.json')).body;
    const acs = doc.paths['/auth/sso/{providerId}/acs'].post;
    expect(Object.keys(acs.requestBody.content).sort()).toEqual([
      'application/json',
      'application/x-www-form-urlencoded',
    ]);
    expect(acs.requestBody.content['application/x-www-form-urlencoded'].schema.properties).toHaveProperty(
      'SAMLResponse',
    );
    expect(acs.responses).toHaveProperty('303');
    for (const path of ['/auth/sso/sign-in', '/auth/sso/{providerId}/callback', '/auth/sso/{providerId}/metadata']) {
      expect(doc.paths).toHaveProperty([path]);
    }
    expect(Object.keys(doc.paths['/auth/sso/sign-in']).sort()).toEqual(['get', 'post']);
  });
});
