/**
 * The isolation suite, generated from the router: every tenant procedure is called
 *  (a) by a signed-in user who is not a member → FORBIDDEN,
 *  (b) by a member of this organization with another organization's resource ids → TENANT_VIOLATION,
 *      and by a member of only the other organization with its own ids under this path → FORBIDDEN,
 *  (c) by a member whose role lacks the declared permission → INSUFFICIENT_PERMISSIONS,
 *  (d) with a missing or malformed organization id → TENANT_CONTEXT_MISSING,
 *  (e) with personal access tokens: one without the route's scopes → API_KEY_MISSING_SCOPES, one
 *      pinned to another organization → FORBIDDEN, revoked or expired ones → INVALID_API_KEY, and one
 *      whose owner was demoted after it was made → INSUFFICIENT_PERMISSIONS (rights are the key's
 *      scopes intersected with the owner's current role),
 *  (f) with OAuth bearer tokens: one without the route's scopes → INSUFFICIENT_PERMISSIONS, one whose
 *      grant was withdrawn → INVALID_OR_EXPIRED_TOKEN, another user's → FORBIDDEN,
 *  (h) with a session, a personal access token and an OAuth bearer token of a member without a second
 *      factor, in an organization that requires MFA and whose deadline passed → MFA_REQUIRED, except on
 *      the routes that stay open to them (meta.mfaExempt: my-membership, leave), which answer,
 *  (i) with a session, a personal access token and an OAuth bearer token of a member whose email is on
 *      a verified domain of a required SSO connection, none of them from a sign-in through the
 *      organization's SSO → SSO_REQUIRED naming where to sign in, except on the same open routes,
 *  (g) on every account route (user tier, and the auth routes that take tokens) with a key pinned to
 *      one organization, held by a member of two: nothing of the other organization is shown, and
 *      nothing reaches into it (creating an organization, accepting its invitation, creating a key
 *      pinned to it: FORBIDDEN; the user's key pinned to it: NOT_FOUND),
 * and no answer may carry the other organization's data. A new tenant procedure is covered the
 * moment it is added to the router; a new kind of path parameter needs a fixture in RESOURCES.
 * A path parameter that names rather than identifies (an SSO domain: any organization may claim any
 * name) answers (b) with NOT_FOUND, so another organization's claim on a name is never shown.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restRoutes, type RestRoute } from '../../adapters/rest/routes.js';
import { FormSchema } from '../../entities/form.js';
import { InviteSchema } from '../../entities/invite.js';
import { MemberSchema, OrganizationSchema } from '../../entities/organization.js';
import { ProjectSchema } from '../../entities/project.js';
import { WidgetSchema } from '../../entities/widget.js';
import { appRouter } from '../../procedures/index.js';
import { sha256Hex } from '../../server/crypto.js';
import { newId } from '../../server/ids.js';
import { ROLE_PERMISSIONS, USER_SCOPES } from '../../server/scopes.js';
import { createApiKey } from '../support/api-keys.js';
import { createBearerToken, registerClient } from '../support/oauth.js';
import { callerFor, startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, signUp, type SignedUp } from '../support/identity.js';
import { addSecondFactor, requireMfa } from '../support/mfa.js';
import { requiredConnection } from '../support/sso-settings.js';
import { addMember, defaultOrganizationId } from '../support/tenancy.js';

const tenantRoutes = restRoutes(appRouter).filter((route) => route.meta.tier === 'tenant');

/**
 * How to make, inside an organization, the resource each path parameter names; in this order, each
 * seeing those made before it (a form belongs to the organization's project).
 */
const RESOURCES: Record<
  string,
  (t: TestApp, organizationId: string, marker: string, made: Record<string, string>) => Promise<string>
> = {
  memberId: async (t, organizationId, marker) =>
    addMember(t, organizationId, (await signUp(t, { email: `${marker}-member@example.com` })).userId, 'member'),
  projectId: async (t, organizationId, marker) => {
    const id = newId();
    const now = new Date();
    await t.services.orm.em.fork().insert(ProjectSchema, {
      id,
      organizationId,
      name: `${marker} project`,
      slug: `${marker}-project`.toLowerCase(),
      website: null,
      description: marker,
      status: 'active',
      publishableKey: `pk_${randomBytes(16).toString('hex')}`,
      allowedOrigins: [],
      createdByUserId: null,
      createdAt: now,
      updatedAt: now,
    });
    return id;
  },
  formId: async (t, organizationId, marker, made) => {
    const id = newId();
    const now = new Date();
    await t.services.orm.em.fork().insert(FormSchema, {
      id,
      organizationId,
      projectId: made.projectId!,
      name: `${marker} form`,
      published: true,
      fields: [{ name: 'email', label: marker, type: 'email', required: true, maxLength: null, options: null }],
      honeypotField: 'website_url',
      createdByUserId: null,
      createdAt: now,
      updatedAt: now,
    });
    return id;
  },
  widgetId: async (t, organizationId, marker, made) => {
    const id = newId();
    const now = new Date();
    await t.services.orm.em.fork().insert(WidgetSchema, {
      id,
      organizationId,
      projectId: made.projectId!,
      name: `${marker} widget`,
      type: 'signup-form',
      published: true,
      config: { title: marker },
      formId: made.formId!,
      createdByUserId: null,
      createdAt: now,
      updatedAt: now,
    });
    return id;
  },
  inviteId: async (t, organizationId, marker) => {
    const id = newId();
    const now = new Date();
    await t.services.orm.em.fork().insert(InviteSchema, {
      id,
      organizationId,
      email: `${marker}-invitee@example.com`,
      role: 'member',
      tokenHash: sha256Hex(randomBytes(32).toString('hex')),
      status: 'pending',
      invitedByUserId: null,
      expiresAt: new Date(now.getTime() + 86_400_000),
      createdAt: now,
      acceptedAt: null,
      revokedAt: null,
    });
    return id;
  },
  domain: async (t, organizationId, marker) => {
    const domain = `${marker}.example.com`.toLowerCase();
    await requiredConnection(t, organizationId, domain, { required: false, verified: false });
    return domain;
  },
};

/** Path parameters that name a resource rather than identify it: (b) answers NOT_FOUND for them. */
const NAMES = new Set(['domain']);

/** Inputs valid enough to reach the resource lookup, for procedures that take a body. */
const SAMPLE_BODIES: Record<string, Record<string, unknown>> = {
  'tenant.members.changeRole': { role: 'member' },
  'tenant.projects.update': { name: 'renamed' },
  'tenant.forms.create': { name: 'form', fields: [{ name: 'email', label: 'Email', type: 'email' }] },
  'tenant.forms.update': { name: 'renamed' },
  'tenant.widgets.update': { name: 'renamed' },
  // Any well-formed form id: the project in the path is judged before the form.
  'tenant.widgets.create': { name: 'w', type: 'counter', config: { label: 'n', formId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' } },
};

interface Tenant {
  id: string;
  marker: string;
  owner: SignedUp;
  member: SignedUp;
  resources: Record<string, string>;
}

let t: TestApp;
let a: Tenant;
let b: Tenant;
let outsider: SignedUp;
/** An organization that requires MFA (grace period over), its owner with a TOTP. */
let strict: Tenant;
/** An organization whose SSO connection is required for its verified domain `ssoDomain`. */
let federated: Tenant;
let ssoDomain: string;
let ssoConnectionId: string;

async function tenant(label: string): Promise<Tenant> {
  const marker = `${label}${randomBytes(4).toString('hex')}`;
  const owner = await signUp(t);
  const member = await signUp(t);
  const id = await defaultOrganizationId(t, owner.userId);
  await t.services.orm.em.fork().nativeUpdate(OrganizationSchema, { id }, { name: `${marker} organization` });
  await addMember(t, id, member.userId, 'member');
  const resources: Record<string, string> = {};
  for (const [param, make] of Object.entries(RESOURCES)) resources[param] = await make(t, id, marker, resources);
  return { id, marker, owner, member, resources };
}

beforeAll(async () => {
  t = await startTestApp({
    env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '1000', RATE_LIMIT_GLOBAL_POINTS: '100000' },
  });
  a = await tenant('alpha');
  b = await tenant('bravo');
  outsider = await signUp(t);
  strict = await tenant('charlie');
  await addSecondFactor(t, strict.owner.userId, 'totp');
  await requireMfa(t, strict.id, { gracePeriodDays: 0, since: new Date(Date.now() - 86_400_000) });
  federated = await tenant('delta');
  ssoDomain = `sso-${federated.marker}.example.com`.toLowerCase();
  ssoConnectionId = await requiredConnection(t, federated.id, ssoDomain);
});
afterAll(async () => {
  await t?.close();
});

function pathFor(route: RestRoute, organizationId: string, resources: Record<string, string>): string {
  return `/api${route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (name === 'organizationId') return organizationId;
    const value = resources[name];
    if (!value)
      throw new Error(`no fixture for the path parameter {${name}} of ${route.procedurePath}: add one to RESOURCES`);
    return value;
  })}`;
}

async function call(route: RestRoute, user: SignedUp | { apiKey: string } | { bearer: string }, path: string) {
  const body = SAMPLE_BODIES[route.procedurePath] ?? {};
  const withBody = route.method !== 'GET';
  const headers =
    'apiKey' in user
      ? { 'content-type': 'application/json', 'x-api-key': user.apiKey }
      : 'bearer' in user
        ? { 'content-type': 'application/json', authorization: `Bearer ${user.bearer}` }
        : asBrowser(user.cookie);
  return t.request(path, { method: route.method, headers, body: withBody ? JSON.stringify(body) : undefined });
}

function expectNothingOf(other: Tenant, body: unknown) {
  const text = JSON.stringify(body);
  expect(text).not.toContain(other.marker);
  expect(text).not.toContain(other.owner.email);
}

describe.each(tenantRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))('%s', (_, route) => {
  it('(a) refuses a signed-in non-member with FORBIDDEN', async () => {
    const res = await call(route, outsider, pathFor(route, a.id, a.resources));
    expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN', data: null });
    expectNothingOf(a, res.body);
  });

  // (b) applies to routes that name a resource besides the organization.
  if (route.pathParams.length > 1)
    it('(b) never hands out another organization’s resource', async () => {
      const crossed = await call(route, a.owner, pathFor(route, a.id, b.resources));
      const named = route.pathParams.some((param) => NAMES.has(param));
      expect(crossed.body, JSON.stringify(crossed.body)).toMatchObject(
        named ? { status: 404, code: 'NOT_FOUND', data: null } : { status: 403, code: 'TENANT_VIOLATION', data: null },
      );
      expectNothingOf(b, crossed.body);
      const foreign = await call(route, b.owner, pathFor(route, a.id, b.resources));
      expect(foreign.body).toMatchObject({ status: 403, code: 'FORBIDDEN', data: null });
      expectNothingOf(a, foreign.body);
    });

  const memberMayNot =
    route.meta.ownerOnly || (route.meta.permission && !ROLE_PERMISSIONS.member.includes(route.meta.permission));
  if (memberMayNot)
    it('(c) refuses a member whose role lacks the permission', async () => {
      const res = await call(route, a.member, pathFor(route, a.id, a.resources));
      expect(res.body).toMatchObject({ status: 403, code: 'INSUFFICIENT_PERMISSIONS', data: null });
      expect(res.body.meta.requiredPermissions).toEqual([route.meta.ownerOnly ? 'owner' : route.meta.permission]);
    });

  it('(d) answers TENANT_CONTEXT_MISSING without a well-formed organization id', async () => {
    // An empty id on the organization's own path is the list of organizations, not a tenant route.
    const empty = route.path.endsWith('{organizationId}') ? [] : [''];
    for (const organizationId of ['not-an-id', '01H', a.id.toLowerCase(), ...empty]) {
      const res = await call(route, a.owner, pathFor(route, organizationId, a.resources));
      expect(res.body, `organizationId "${organizationId}"`).toMatchObject({
        status: 403,
        code: 'TENANT_CONTEXT_MISSING',
        data: null,
      });
    }
  });

  it('(d) answers TENANT_CONTEXT_MISSING to a direct call without organizationId', async () => {
    const caller = callerFor(t.services, {
      principal: {
        kind: 'session',
        userId: a.owner.userId,
        email: a.owner.email,
        emailVerified: true,
        scopes: new Set(),
      },
    });
    const procedure = route.procedurePath.split('.').reduce<any>((node, key) => node[key], caller);
    await expect(procedure({ ...a.resources, ...SAMPLE_BODIES[route.procedurePath] })).rejects.toMatchObject({
      apiCode: 'TENANT_CONTEXT_MISSING',
    });
  });
});

describe.each(tenantRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))(
  '%s with personal access tokens',
  (_, route) => {
    const path = () => pathFor(route, a.id, a.resources);
    const requiredScopes = route.meta.scopes ?? [];

    it('(e) refuses a key without the route’s scopes, or any key on a session-only route', async () => {
      const apiKey = await createApiKey(t, {
        userId: a.owner.userId,
        scopes: USER_SCOPES.filter((s) => !requiredScopes.includes(s)),
      });
      const res = await call(route, { apiKey }, path());
      if (route.meta.sessionOnly) expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      else expect(res.body).toMatchObject({ status: 403, code: 'API_KEY_MISSING_SCOPES', meta: { requiredScopes } });
    });

    it('(e) refuses a key pinned to another organization', async () => {
      const apiKey = await createApiKey(t, { userId: a.owner.userId, organizationId: b.id });
      expect((await call(route, { apiKey }, path())).body).toMatchObject({
        status: 403,
        code: 'FORBIDDEN',
        data: null,
      });
    });

    it('(e) refuses revoked and expired keys', async () => {
      const revoked = await createApiKey(t, { userId: a.owner.userId, revokedAt: new Date() });
      const expired = await createApiKey(t, { userId: a.owner.userId, expiresAt: new Date(Date.now() - 1000) });
      for (const apiKey of [revoked, expired])
        expect((await call(route, { apiKey }, path())).body).toMatchObject({ status: 401, code: 'INVALID_API_KEY' });
    });

    if (
      !route.meta.sessionOnly &&
      (route.meta.ownerOnly || (route.meta.permission && !ROLE_PERMISSIONS.member.includes(route.meta.permission)))
    ) {
      it('(e) follows the owner’s current role, not the one the key was made under', async () => {
        const admin = await signUp(t);
        const memberId = await addMember(t, a.id, admin.userId, 'admin');
        const apiKey = await createApiKey(t, { userId: admin.userId, organizationId: a.id });
        await t.services.orm.em.fork().nativeUpdate(MemberSchema, { id: memberId }, { role: 'member' });
        expect((await call(route, { apiKey }, path())).body).toMatchObject({
          status: 403,
          code: 'INSUFFICIENT_PERMISSIONS',
          data: null,
        });
      });
    }
  },
);

describe.each(tenantRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))(
  '%s with OAuth bearer tokens',
  (_, route) => {
    const path = () => pathFor(route, a.id, a.resources);
    const requiredScopes = route.meta.scopes ?? [];

    it('(f) refuses a token without the route’s scopes, or any token on a session-only route', async () => {
      const { token } = await createBearerToken(t, {
        userId: a.owner.userId,
        scopes: USER_SCOPES.filter((s) => !requiredScopes.includes(s)),
      });
      const res = await call(route, { bearer: token }, path());
      if (route.meta.sessionOnly) expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      else expect(res.body).toMatchObject({ status: 403, code: 'INSUFFICIENT_PERMISSIONS', meta: { requiredScopes } });
    });

    it('(f) refuses a token whose grant was withdrawn, and another user’s token', async () => {
      const withdrawn = await createBearerToken(t, { userId: a.owner.userId });
      await t.services.orm.em
        .fork()
        .getConnection()
        .execute(`delete from oidc_artifacts where model = 'Grant' and id = ?`, [withdrawn.grantId]);
      const res = await call(route, { bearer: withdrawn.token }, path());
      expect(res.body).toMatchObject({ status: 401, code: 'INVALID_OR_EXPIRED_TOKEN' });
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      const foreign = await createBearerToken(t, { userId: outsider.userId });
      expect((await call(route, { bearer: foreign.token }, path())).body).toMatchObject({
        status: 403,
        code: 'FORBIDDEN',
        data: null,
      });
    });
  },
);

type Credential = 'session' | 'apiKey' | 'bearer';

/** A new admin of `organizationId` without a second factor, calling with a credential of the kind asked for. */
async function memberWithout2fa(organizationId: string, kind: Credential) {
  const user = await signUp(t);
  await addMember(t, organizationId, user.userId, 'admin');
  if (kind === 'apiKey') return { apiKey: await createApiKey(t, { userId: user.userId }) };
  if (kind === 'bearer') return { bearer: (await createBearerToken(t, { userId: user.userId })).token };
  return user;
}

/** One shut-out admin per credential kind, shared by the routes that cannot end their membership. */
const shutOut = new Map<Credential, Awaited<ReturnType<typeof memberWithout2fa>>>();

describe.each(tenantRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))(
  '%s under an MFA requirement',
  (_, route) => {
    it.each([
      ['a session', 'session'],
      ['an API key', 'apiKey'],
      ['an OAuth bearer token', 'bearer'],
    ] as const)('(h) with %s of a member without a second factor past the deadline', async (_, kind) => {
      // An exempt route may end the membership (leave): it gets a member of its own.
      let caller = route.meta.mfaExempt ? undefined : shutOut.get(kind);
      if (!caller) {
        caller = await memberWithout2fa(strict.id, kind);
        if (!route.meta.mfaExempt) shutOut.set(kind, caller);
      }
      const res = await call(route, caller, pathFor(route, strict.id, strict.resources));
      if (route.meta.sessionOnly && kind !== 'session')
        expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      else if (route.meta.mfaExempt) expect(res.body, JSON.stringify(res.body)).toMatchObject({ success: true });
      else {
        expect(res.body, JSON.stringify(res.body)).toMatchObject({
          status: 403,
          code: 'MFA_REQUIRED',
          data: null,
          meta: { enable: '/api/auth/two-factor/enable' },
        });
        expectNothingOf(strict, res.body);
      }
    });
  },
);

/** A new admin of the federated organization on its SSO domain, with a credential not from its SSO. */
async function memberOfSsoDomain(kind: Credential) {
  const user = await signUp(t, { email: `${kind.toLowerCase()}-${randomBytes(4).toString('hex')}@${ssoDomain}` });
  await addMember(t, federated.id, user.userId, 'admin');
  if (kind === 'apiKey') return { apiKey: await createApiKey(t, { userId: user.userId }) };
  if (kind === 'bearer') return { bearer: (await createBearerToken(t, { userId: user.userId })).token };
  return user;
}

/** One shut-out admin per credential kind, shared by the routes that cannot end their membership. */
const outsideSso = new Map<Credential, Awaited<ReturnType<typeof memberOfSsoDomain>>>();

describe.each(tenantRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))(
  '%s under an SSO requirement',
  (_, route) => {
    it.each([
      ['a session', 'session'],
      ['an API key', 'apiKey'],
      ['an OAuth bearer token', 'bearer'],
    ] as const)('(i) with %s of a member of the SSO domain not signed in through SSO', async (_, kind) => {
      let caller = route.meta.mfaExempt ? undefined : outsideSso.get(kind);
      if (!caller) {
        caller = await memberOfSsoDomain(kind);
        if (!route.meta.mfaExempt) outsideSso.set(kind, caller);
      }
      const res = await call(route, caller, pathFor(route, federated.id, federated.resources));
      if (route.meta.sessionOnly && kind !== 'session')
        expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      else if (route.meta.mfaExempt) expect(res.body, JSON.stringify(res.body)).toMatchObject({ success: true });
      else {
        expect(res.body, JSON.stringify(res.body)).toMatchObject({
          status: 403,
          code: 'SSO_REQUIRED',
          data: null,
          meta: { providerId: ssoConnectionId, signInUrl: expect.stringContaining(`providerId=${ssoConnectionId}`) },
        });
        expectNothingOf(federated, res.body);
      }
    });
  },
);

/** The account routes a token may call, and what a key pinned to organization A must get on them. */
const accountRoutes = restRoutes(appRouter).filter(
  (route) => route.meta.tier === 'user' || (route.meta.tier === 'auth' && route.meta.scopes),
);
const BEYOND_THE_PIN: Record<string, string> = {
  'user.organizations.create': 'FORBIDDEN',
  'user.invites.accept': 'FORBIDDEN',
  'auth.apiKey.create': 'FORBIDDEN',
  'auth.apiKey.get': 'NOT_FOUND',
  'auth.apiKey.update': 'NOT_FOUND',
  'auth.apiKey.delete': 'NOT_FOUND',
  'auth.apiKey.rotate': 'NOT_FOUND',
};

describe('account routes with a key pinned to one organization', () => {
  /** A member of both a and b, holding a key pinned to a, a key pinned to b and an invitation into b. */
  let pinnedToA: string;
  let params: Record<string, string>;
  let bodies: Record<string, Record<string, unknown>>;
  let queries: Record<string, string>;
  beforeAll(async () => {
    const straddler = await signUp(t);
    await addMember(t, a.id, straddler.userId, 'admin');
    await addMember(t, b.id, straddler.userId, 'admin');
    pinnedToA = await createApiKey(t, { userId: straddler.userId, organizationId: a.id });
    const pinnedToB = await createApiKey(t, { userId: straddler.userId, organizationId: b.id });
    const keyInB = (
      await t.services.orm.em
        .fork()
        .getConnection()
        .execute<{ id: string }[]>('select id from api_keys where key_hash = ?', [sha256Hex(pinnedToB)])
    )[0]!.id;
    const token = randomBytes(32).toString('base64url');
    await t.services.orm.em.fork().insert(InviteSchema, {
      id: newId(),
      organizationId: b.id,
      email: straddler.email,
      role: 'owner',
      tokenHash: sha256Hex(token),
      status: 'pending',
      invitedByUserId: b.owner.userId,
      expiresAt: new Date(Date.now() + 86_400_000),
      createdAt: new Date(),
      acceptedAt: null,
      revokedAt: null,
    });
    params = { token, clientId: (await registerClient(t, { ownerId: straddler.userId })).id };
    bodies = {
      'user.me.update': { fullName: 'Pinned' },
      'user.organizations.create': { name: 'Beyond the pin' },
      'auth.apiKey.create': { name: 'reaching', scopes: ['user:read'], organizationId: b.id },
      'auth.apiKey.update': { id: keyInB, name: 'renamed' },
      'auth.apiKey.delete': { id: keyInB },
      'auth.apiKey.rotate': { id: keyInB },
    };
    queries = { 'auth.apiKey.get': `?id=${keyInB}` };
  });

  it.each(accountRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '(g) %s shows and reaches nothing beyond the pin',
    async (_, route) => {
      const path = `/api${route.path.replace(/\{(\w+)\}/g, (_, name: string) => params[name]!)}${queries[route.procedurePath] ?? ''}`;
      const res = await t.request(path, {
        method: route.method,
        headers: { 'content-type': 'application/json', 'x-api-key': pinnedToA },
        body: route.method === 'GET' ? undefined : JSON.stringify(bodies[route.procedurePath] ?? {}),
      });
      expectNothingOf(b, res.body);
      expect(JSON.stringify(res.body)).not.toContain(b.id);
      const expected = route.meta.sessionOnly ? 'FORBIDDEN' : BEYOND_THE_PIN[route.procedurePath];
      if (expected) expect(res.body, JSON.stringify(res.body)).toMatchObject({ code: expected, data: null });
      else expect(res.body, JSON.stringify(res.body)).toMatchObject({ success: true });
    },
  );

  it('(g) counts, lists and exports only the pinned organization', async () => {
    const headers = { 'x-api-key': pinnedToA };
    expect((await t.request('/api/user/me', { headers })).body.data.organizationCount).toBe(1);
    expect(
      (await t.request('/api/user/organizations', { headers })).body.data.map((o: { id: string }) => o.id),
    ).toEqual([a.id]);
    expect((await t.request('/api/user/invites', { headers })).body.meta.total).toBe(0);
    expect(
      (await t.request('/api/user/me/export', { headers })).body.data.memberships.map(
        (m: { organizationId: string }) => m.organizationId,
      ),
    ).toEqual([a.id]);
  });
});

it('(h) leaves open to a shut-out member only what shows why and lets them go', () => {
  expect(
    tenantRoutes
      .filter((route) => route.meta.mfaExempt)
      .map((route) => `${route.method} ${route.path}`)
      .sort(),
  ).toEqual([
    'GET /user/organizations/{organizationId}/my-membership',
    'POST /user/organizations/{organizationId}/leave',
  ]);
});

it('covers every tenant procedure', () => {
  expect(tenantRoutes.length).toBeGreaterThanOrEqual(10);
});
