/**
 * The SSO-required policy on tenant routes: a member whose email is on a verified domain of a required
 * connection passes only with a session signed in through this organization's SSO, or a key minted by
 * one; never with a password session, a key it minted, or an OAuth bearer token; my-membership and
 * leave stay open; members on other domains are untouched; and whoever would lock themselves out by
 * turning the policy on is refused. (The isolation suite runs the refusal on every tenant route.)
 *
 * SSO sessions are written to the database as the SSO sign-in leaves them (sessions.sso_organization_id
 * set, method `sso`); the sign-in flow itself is tested in tests/auth.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeySchema } from '../../entities/api-key.js';
import { SsoConnectionSchema } from '../../entities/sso.js';
import { createApiKey } from '../support/api-keys.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startDnsServer, type TestDnsServer } from '../support/dns-server.js';
import { asBrowser, signUp } from '../support/identity.js';
import { startInbox, type Inbox } from '../support/mail.js';
import { createBearerToken } from '../support/oauth.js';
import { requiredConnection, ssoSession } from '../support/sso-settings.js';
import { addMember, defaultOrganizationId } from '../support/tenancy.js';

let t: TestApp;
let dns: TestDnsServer;
let inbox: Inbox;
beforeAll(async () => {
  dns = await startDnsServer();
  inbox = await startInbox();
  t = await startTestApp({
    env: {
      SMTP_URL: inbox.url,
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '1000',
      RATE_LIMIT_GLOBAL_POINTS: '100000',
      DNS_SERVERS: dns.address,
    },
  });
});
afterAll(async () => {
  await t?.close();
  await dns?.close();
  await inbox?.close();
});

type Caller = { cookie: string } | { apiKey: string } | { bearer: string };

function headersOf(caller: Caller): Record<string, string> {
  if ('apiKey' in caller) return { 'content-type': 'application/json', 'x-api-key': caller.apiKey };
  if ('bearer' in caller) return { 'content-type': 'application/json', authorization: `Bearer ${caller.bearer}` };
  return asBrowser(caller.cookie);
}
const call = (method: string, path: string, caller: Caller, body?: unknown) =>
  t.request(path, {
    method,
    headers: headersOf(caller),
    body: method === 'GET' ? undefined : JSON.stringify(body ?? {}),
  });

/** An organization (owner on example.com), an admin and a member on `domain`, and one on another domain. */
async function company(domain = `corp-${randomBytes(4).toString('hex')}.example`) {
  const owner = await signUp(t);
  const id = await defaultOrganizationId(t, owner.userId);
  const admin = await signUp(t, { email: `admin-${randomBytes(3).toString('hex')}@${domain}` });
  const member = await signUp(t, { email: `member-${randomBytes(3).toString('hex')}@${domain}` });
  const contractor = await signUp(t);
  await addMember(t, id, admin.userId, 'admin');
  await addMember(t, id, member.userId, 'member');
  await addMember(t, id, contractor.userId, 'member');
  const base = `/api/user/organizations/${id}`;
  return { id, domain, owner, admin, member, contractor, base };
}

const ssoRequired = (connectionId: string) => ({
  status: 403,
  code: 'SSO_REQUIRED',
  data: null,
  meta: {
    providerId: connectionId,
    signInUrl: `${t.services.config.baseUrl.replace(/\/$/, '')}/api/auth/sso/sign-in?providerId=${connectionId}`,
  },
});

/** A personal access token made through POST /auth/api-key/create with `caller`'s credential. */
async function mintKey(caller: Caller): Promise<string> {
  const res = await call('POST', '/api/auth/api-key/create', caller, {
    name: 'minted',
    scopes: ['organizations:read', 'projects:read'],
  });
  if (res.status !== 200) throw new Error(`key creation failed: ${JSON.stringify(res.body)}`);
  return res.body.data.key;
}

describe('the SSO-required policy', () => {
  it('lets a member of the domain in only through this organization’s SSO, whatever the credential', async () => {
    const org = await company();
    const other = await company();
    // Cached before the policy: turning it on must take effect at once.
    expect((await call('GET', org.base, org.member)).body).toMatchObject({ status: 200 });
    const connectionId = await requiredConnection(t, org.id, org.domain);

    const viaSso = { cookie: await ssoSession(t, org.member.userId, org.id) };
    const viaOtherSso = { cookie: await ssoSession(t, org.member.userId, other.id) };
    const password = org.member;
    const ssoKey = await mintKey(viaSso);
    const passwordKey = await mintKey(password);
    const rows = await t.services.orm.em
      .fork()
      .find(ApiKeySchema, { userId: org.member.userId }, { orderBy: { createdAt: 'asc' } });
    expect(rows.map((r) => r.ssoOrganizationId)).toEqual([org.id, null]);
    const bearer = (await createBearerToken(t, { userId: org.member.userId })).token;

    for (const [label, caller] of [
      ['a password session', password],
      ['an SSO session of another organization', viaOtherSso],
      ['a key minted by a password session', { apiKey: passwordKey }],
      ['a key written without an SSO sign-in', { apiKey: await createApiKey(t, { userId: org.member.userId }) }],
      ['an OAuth bearer token', { bearer }],
    ] as const) {
      for (const path of [org.base, `${org.base}/members`, `${org.base}/projects`]) {
        expect((await call('GET', path, caller)).body, `${label} on ${path}`).toMatchObject(ssoRequired(connectionId));
      }
      const mine = await call('GET', `${org.base}/my-membership`, caller);
      expect(mine.body, label).toMatchObject({
        status: 200,
        data: {
          role: 'member',
          sso: {
            required: true,
            blocked: true,
            providerId: connectionId,
            signInUrl: ssoRequired(connectionId).meta.signInUrl,
          },
        },
      });
    }
    for (const [label, caller] of [
      ['an SSO session of this organization', viaSso],
      ['a key it minted', { apiKey: ssoKey }],
    ] as const) {
      for (const path of [org.base, `${org.base}/members`, `${org.base}/projects`]) {
        expect((await call('GET', path, caller)).body, `${label} on ${path}`).toMatchObject({ status: 200 });
      }
      expect((await call('GET', `${org.base}/my-membership`, caller)).body.data.sso, label).toEqual({
        required: true,
        blocked: false,
        providerId: connectionId,
        signInUrl: ssoRequired(connectionId).meta.signInUrl,
      });
    }
    expect((await call('GET', `${org.base}/my-membership`, org.contractor)).body.data.sso).toEqual({
      required: false,
      blocked: false,
      providerId: null,
      signInUrl: null,
    });
    // Before the permission check: what unblocks them, not what their role lacks.
    expect((await call('GET', `${org.base}/settings/sso`, password)).body).toMatchObject(ssoRequired(connectionId));
    expect((await call('GET', `${org.base}/settings/sso`, viaSso)).body).toMatchObject({
      code: 'INSUFFICIENT_PERMISSIONS',
    });

    // Members on other domains, and the owner, are untouched.
    for (const caller of [
      org.contractor,
      org.owner,
      { bearer: (await createBearerToken(t, { userId: org.contractor.userId })).token },
    ]) {
      expect((await call('GET', `${org.base}/members`, caller)).body).toMatchObject({ status: 200 });
    }
    // The member of the domain can still leave.
    expect((await call('POST', `${org.base}/leave`, password)).body).toMatchObject({ status: 200 });
  });

  it('follows the settings at once: off, unverified, or the domain removed lets members in again', async () => {
    const org = await company();
    const path = `${org.base}/settings/sso`;
    const put = (connections: unknown[]) => call('PUT', path, org.owner, { connections });
    const create = await put([
      {
        name: 'Corp IdP',
        type: 'oidc',
        required: true,
        domains: [org.domain],
        oidc: { issuer: 'https://idp.corp.example', clientId: 'c', clientSecret: 's' },
      },
    ]);
    const connection = create.body.data.connections[0];
    // Claimed but unverified: nobody is held to it yet.
    expect((await call('GET', org.base, org.member)).body).toMatchObject({ status: 200 });
    dns.txt.set(connection.domains[0].verification.name, [[connection.domains[0].verification.value]]);
    expect((await call('POST', `${path}/domains/${org.domain}/verify`, org.owner)).body).toMatchObject({ status: 200 });
    expect((await call('GET', org.base, org.member)).body).toMatchObject(ssoRequired(connection.id));

    const same = { id: connection.id, name: 'Corp IdP', type: 'oidc', domains: [org.domain] };
    expect((await put([{ ...same, required: false }])).body).toMatchObject({ status: 200 });
    expect((await call('GET', org.base, org.member)).body).toMatchObject({ status: 200 });
    expect((await put([{ ...same, required: true }])).body).toMatchObject({ status: 200 });
    expect((await call('GET', org.base, org.member)).body).toMatchObject(ssoRequired(connection.id));
    expect((await put([{ ...same, required: true, domains: [] }])).body).toMatchObject({ status: 200 });
    expect((await call('GET', org.base, org.member)).body).toMatchObject({ status: 200 });
  });

  it('refuses to lock out the admin who turns it on for their own domain without signing in through it', async () => {
    const org = await company();
    const connectionId = await requiredConnection(t, org.id, org.domain, { required: false });
    const path = `${org.base}/settings/sso`;
    const turnOn = {
      connections: [{ id: connectionId, name: 'Required SSO', type: 'oidc', required: true, domains: [org.domain] }],
    };
    const refused = await call('PUT', path, org.admin, turnOn);
    expect(refused.body).toMatchObject({
      status: 403,
      code: 'SSO_REQUIRED',
      meta: {
        reason: 'would-lock-you-out',
        providerId: connectionId,
        signInUrl: ssoRequired(connectionId).meta.signInUrl,
      },
    });
    const em = t.services.orm.em.fork();
    expect((await em.findOneOrFail(SsoConnectionSchema, { id: connectionId })).required).toBe(false);
    // A key minted without an SSO sign-in is refused the same; the owner (another domain) may turn it on.
    const key = await createApiKey(t, { userId: org.admin.userId });
    expect((await call('PUT', path, { apiKey: key }, turnOn)).body).toMatchObject({
      code: 'SSO_REQUIRED',
      meta: { reason: 'would-lock-you-out' },
    });

    const viaSso = { cookie: await ssoSession(t, org.admin.userId, org.id) };
    expect((await call('PUT', path, viaSso, turnOn)).body).toMatchObject({
      status: 200,
      data: { connections: [{ required: true }] },
    });
    expect((await call('GET', path, viaSso)).body).toMatchObject({ status: 200 });
    expect((await call('GET', path, org.admin)).body).toMatchObject(ssoRequired(connectionId));
  });

  it('refuses to verify the admin’s own domain on a required connection without an SSO sign-in, before asking DNS', async () => {
    const org = await company();
    const connectionId = await requiredConnection(t, org.id, org.domain, { verified: false });
    const asked = dns.asked.length;
    const res = await call('POST', `${org.base}/settings/sso/domains/${org.domain}/verify`, org.admin);
    expect(res.body).toMatchObject({
      status: 403,
      code: 'SSO_REQUIRED',
      meta: { reason: 'would-lock-you-out', providerId: connectionId },
    });
    expect(dns.asked).toHaveLength(asked);
    // The owner, on another domain, is asked only for the record.
    const byOwner = await call('POST', `${org.base}/settings/sso/domains/${org.domain}/verify`, org.owner);
    expect(byOwner.body).toMatchObject({ status: 403, code: 'DOMAIN_NOT_VERIFIED', meta: { reason: 'no-txt-record' } });
  });

  it('keeps a member of the domain from changing their address off it, unless they leave first', async () => {
    const org = await company();
    await requiredConnection(t, org.id, org.domain);
    const change = (newEmail: string) =>
      call('POST', '/api/auth/change-email', org.member, { newEmail, password: org.member.password });
    const refused = await change(`elsewhere-${randomBytes(3).toString('hex')}@example.com`);
    expect(refused.body).toMatchObject({ status: 403, code: 'FORBIDDEN', meta: { organizationId: org.id } });
    const em = t.services.orm.em.fork();
    expect(
      await em.getConnection().execute('select 1 from verifications where user_id = ?', [org.member.userId]),
    ).toHaveLength(1); // only the sign-up's verification: no change-email link was issued

    // A link issued before the policy applied does not move the address either.
    const mailed = `before-${randomBytes(3).toString('hex')}@example.com`;
    await requiredConnectionOff(org.id);
    expect((await change(mailed)).body).toMatchObject({ status: 200 });
    const token = await inbox.tokenFor(mailed);
    await requiredConnectionOn(org.id);
    const used = await call('POST', '/api/auth/verify-email', org.member, { token });
    expect(used.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(
      (await em.fork().getConnection().execute('select email from users where id = ?', [org.member.userId]))[0],
    ).toEqual({ email: org.member.email });

    // Having left the organization, the address is theirs again.
    expect((await call('POST', `${org.base}/leave`, org.member)).body).toMatchObject({ status: 200 });
    expect((await call('POST', '/api/auth/verify-email', org.member, { token })).body).toMatchObject({
      status: 200,
      data: { email: mailed },
    });
  });
});

async function setRequired(organizationId: string, required: boolean): Promise<void> {
  await t.services.orm.em
    .fork()
    .getConnection()
    .execute('update sso_connections set required = ? where organization_id = ?', [required, organizationId]);
}
const requiredConnectionOff = (organizationId: string) => setRequired(organizationId, false);
const requiredConnectionOn = (organizationId: string) => setRequired(organizationId, true);
