/**
 * The organization MFA policy: GET/PUT /mfa and /mfa/compliance over REST, and its enforcement on
 * tenant routes for sessions, API keys and OAuth bearer tokens (the isolation suite runs it on every
 * tenant route); the grace period with a moved clock.
 */
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogSchema } from '../../entities/audit-log.js';
import { MemberSchema, OrganizationSchema } from '../../entities/organization.js';
import { userCacheKeys } from '../../server/auth/sessions.js';
import { newId } from '../../server/ids.js';
import { createApiKey } from '../support/api-keys.js';
import { callerFor, startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, postJson, signUp, type SignedUp } from '../support/identity.js';
import { addSecondFactor, requireMfa } from '../support/mfa.js';
import { createBearerToken } from '../support/oauth.js';
import { addMember, defaultOrganizationId } from '../support/tenancy.js';

const DAY_MS = 86_400_000;
/** The service's clock: real time, moved forward by `offset` to reach a deadline. */
const clock = { offset: 0, now: () => new Date(Date.now() + clock.offset) };

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    now: clock.now,
    env: {
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '1000',
      RATE_LIMIT_GLOBAL_POINTS: '100000',
      RATE_LIMIT_TWO_FACTOR_POINTS: '1000',
    },
  });
});
afterAll(async () => {
  await t?.close();
});

type Caller = SignedUp | { apiKey: string } | { bearer: string };

function headersOf(caller: Caller): Record<string, string> {
  if ('apiKey' in caller) return { 'content-type': 'application/json', 'x-api-key': caller.apiKey };
  if ('bearer' in caller) return { 'content-type': 'application/json', authorization: `Bearer ${caller.bearer}` };
  return asBrowser(caller.cookie);
}
const get = (path: string, caller: Caller) => t.request(path, { headers: headersOf(caller) });
const send = (method: string, path: string, caller: Caller, body: unknown = {}) =>
  t.request(path, { method, headers: headersOf(caller), body: JSON.stringify(body) });

/** An organization with an owner (with a confirmed TOTP), an admin and a member (neither with a factor). */
async function team() {
  const [owner, admin, member] = [await signUp(t), await signUp(t), await signUp(t)];
  const organizationId = await defaultOrganizationId(t, owner.userId);
  await addMember(t, organizationId, admin.userId, 'admin');
  await addMember(t, organizationId, member.userId, 'member');
  await addSecondFactor(t, owner.userId, 'totp');
  return { owner, admin, member, organizationId, base: `/api/user/organizations/${organizationId}` };
}

const auditEntries = (organizationId: string) =>
  t.services.orm.em
    .fork()
    .find(AuditLogSchema, { organizationId, action: 'organization.mfa_policy_updated' }, { orderBy: { id: 'asc' } });

describe('GET and PUT /mfa', () => {
  it('shows and changes the policy for owners and admins, never members', async () => {
    const { owner, admin, member, organizationId, base } = await team();
    expect((await get(`${base}/mfa`, admin)).body).toMatchObject({
      status: 200,
      message: 'MFA policy fetched successfully',
      data: { required: false, gracePeriodDays: 0, requiredSince: null },
    });
    for (const refused of [
      await get(`${base}/mfa`, member),
      await send('PUT', `${base}/mfa`, member, { required: true }),
    ])
      expect(refused.body).toMatchObject({
        status: 403,
        code: 'INSUFFICIENT_PERMISSIONS',
        meta: { requiredPermissions: ['organization:manage-security'] },
      });

    const on = await send('PUT', `${base}/mfa`, owner, { required: true, gracePeriodDays: 14 });
    expect(on.body).toMatchObject({
      status: 200,
      message: 'MFA policy updated successfully',
      data: { required: true, gracePeriodDays: 14 },
    });
    const since = on.body.data.requiredSince;
    expect(Math.abs(new Date(since).getTime() - Date.now())).toBeLessThan(10_000);
    // Changing only the grace period keeps the start: deadlines move with the period, never restart.
    const longer = await send('PUT', `${base}/mfa`, owner, { required: true, gracePeriodDays: 30 });
    expect(longer.body.data).toEqual({ required: true, gracePeriodDays: 30, requiredSince: since });
    const off = await send('PUT', `${base}/mfa`, owner, { required: false });
    expect(off.body.data).toEqual({ required: false, gracePeriodDays: 30, requiredSince: null });
    expect((await get(`${base}/mfa`, admin)).body.data).toEqual(off.body.data);

    const entries = await auditEntries(organizationId);
    expect(entries.map((e) => [e.actorUserId, e.metadata])).toEqual([
      [
        owner.userId,
        { required: true, gracePeriodDays: 14, previous: { required: false, gracePeriodDays: 0, requiredSince: null } },
      ],
      [
        owner.userId,
        {
          required: true,
          gracePeriodDays: 30,
          previous: { required: true, gracePeriodDays: 14, requiredSince: since },
        },
      ],
      [
        owner.userId,
        {
          required: false,
          gracePeriodDays: 30,
          previous: { required: true, gracePeriodDays: 30, requiredSince: since },
        },
      ],
    ]);
    expect(entries[0]).toMatchObject({ targetType: 'organization', targetId: organizationId, actorType: 'session' });
  });

  it('is not turned on by someone without a second factor, who would lock themselves out', async () => {
    const { admin, organizationId, base } = await team();
    const refused = await send('PUT', `${base}/mfa`, admin, { required: true });
    expect(refused.body).toMatchObject({
      status: 403,
      code: 'MFA_REQUIRED',
      meta: { enable: '/api/auth/two-factor/enable' },
    });
    expect(await auditEntries(organizationId)).toHaveLength(0);
    await addSecondFactor(t, admin.userId, 'passkey');
    expect((await send('PUT', `${base}/mfa`, admin, { required: true })).body).toMatchObject({
      status: 200,
      data: { required: true, gracePeriodDays: 0 },
    });
  });

  it('refuses bad input with VALIDATION_ERROR and writes nothing', async () => {
    const { owner, organizationId, base } = await team();
    for (const body of [
      { required: true, gracePeriodDays: 91 },
      { required: true, gracePeriodDays: -1 },
      { required: true, gracePeriodDays: 1.5 },
      { required: 'yes' },
      { required: 'false' },
      { required: 1 },
      { required: null },
      { gracePeriodDays: 7 },
      {},
      { required: true, extra: 1 },
    ]) {
      const res = await send('PUT', `${base}/mfa`, owner, body);
      expect(res.body, JSON.stringify(body)).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
    }
    expect(await auditEntries(organizationId)).toHaveLength(0);
    const organization = await t.services.orm.em.fork().findOneOrFail(OrganizationSchema, { id: organizationId });
    expect(organization).toMatchObject({ mfaRequired: false, mfaGracePeriodDays: 0, mfaRequiredSince: null });
    expect((await send('PUT', `${base}/mfa`, owner, { required: true, gracePeriodDays: 90 })).status).toBe(200);
  });

  it('takes API keys and OAuth tokens with organizations:read and organizations:write', async () => {
    const { owner, base } = await team();
    const reader = await createApiKey(t, { userId: owner.userId, scopes: ['organizations:read'] });
    expect((await get(`${base}/mfa`, { apiKey: reader })).status).toBe(200);
    expect((await send('PUT', `${base}/mfa`, { apiKey: reader }, { required: true })).body).toMatchObject({
      code: 'API_KEY_MISSING_SCOPES',
      meta: { requiredScopes: ['organizations:write'] },
    });
    const { token } = await createBearerToken(t, { userId: owner.userId, scopes: ['organizations:write'] });
    const put = await send('PUT', `${base}/mfa`, { bearer: token }, { required: true });
    expect(put.body).toMatchObject({ status: 200, data: { required: true } });
  });
});

describe('enforcement', () => {
  it('shuts out a member without a second factor on every credential, except my-membership and leave', async () => {
    const { owner, member, organizationId, base } = await team();
    const apiKey = await createApiKey(t, { userId: member.userId });
    const { token: bearer } = await createBearerToken(t, { userId: member.userId });
    const credentials: Caller[] = [member, { apiKey }, { bearer }];
    // Cached memberships from before the change must not outlive it.
    for (const caller of credentials) expect((await get(`${base}/projects`, caller)).status).toBe(200);

    const on = await send('PUT', `${base}/mfa`, owner, { required: true, gracePeriodDays: 0 });
    const deadline = on.body.data.requiredSince;
    for (const caller of credentials) {
      for (const [method, path] of [
        ['GET', `${base}/projects`],
        ['GET', base],
        ['GET', `${base}/members`],
        ['POST', `${base}/projects`],
      ] as const) {
        const res = method === 'GET' ? await get(path, caller) : await send(method, path, caller, { name: 'Blocked' });
        expect(res.body, `${method} ${path}`).toMatchObject({
          success: false,
          status: 403,
          code: 'MFA_REQUIRED',
          data: null,
          meta: { deadline, enable: '/api/auth/two-factor/enable', passkey: '/api/auth/passkey/register/options' },
        });
      }
      const membership = await get(`${base}/my-membership`, caller);
      expect(membership.body).toMatchObject({
        status: 200,
        data: { role: 'member', mfa: { required: true, compliant: false, deadline, blocked: true } },
      });
    }
    // The owner complies and is not affected; an organization without the policy is not either.
    expect((await get(`${base}/projects`, owner)).status).toBe(200);
    const elsewhere = await defaultOrganizationId(t, member.userId);
    expect((await get(`/api/user/organizations/${elsewhere}/projects`, member)).status).toBe(200);
    expect(await t.services.orm.em.fork().count(MemberSchema, { organizationId, userId: member.userId })).toBe(1);

    // Direct calls (jobs, tests) meet the same rule.
    const caller = callerFor(t.services, {
      principal: {
        kind: 'session',
        userId: member.userId,
        email: member.email,
        emailVerified: true,
        scopes: new Set(),
      },
    });
    await expect(caller.tenant.projects.list({ organizationId })).rejects.toMatchObject({ apiCode: 'MFA_REQUIRED' });
  });

  it('lets a shut-out member leave, with any credential', async () => {
    const { owner, organizationId, base } = await team();
    await requireMfa(t, organizationId);
    const leavers: Caller[] = [];
    for (const kind of ['session', 'apiKey', 'bearer'] as const) {
      const user = await signUp(t);
      await addMember(t, organizationId, user.userId, 'member');
      if (kind === 'session') leavers.push(user);
      if (kind === 'apiKey') leavers.push({ apiKey: await createApiKey(t, { userId: user.userId }) });
      if (kind === 'bearer') leavers.push({ bearer: (await createBearerToken(t, { userId: user.userId })).token });
    }
    for (const caller of leavers) {
      expect((await get(`${base}/projects`, caller)).body.code).toBe('MFA_REQUIRED');
      expect((await send('POST', `${base}/leave`, caller)).body).toMatchObject({
        status: 200,
        data: { organizationId },
      });
      expect((await get(`${base}/my-membership`, caller)).body.code).toBe('FORBIDDEN');
    }
    expect(await t.services.orm.em.fork().count(MemberSchema, { organizationId })).toBe(3);
    expect((await get(`${base}/projects`, owner)).status).toBe(200);
  });

  it('lets the member back in once they have a confirmed TOTP or a passkey, and not for an unconfirmed one', async () => {
    const { member, admin, organizationId, base } = await team();
    await requireMfa(t, organizationId);
    await addSecondFactor(t, member.userId, 'unconfirmed-totp');
    expect((await get(`${base}/projects`, member)).body.code).toBe('MFA_REQUIRED');
    await t.services.orm.em
      .fork()
      .getConnection()
      .execute('update two_factors set confirmed_at = now() where user_id = ?', [member.userId]);
    // What the confirm route does after its transaction: the cached memberships said "not compliant".
    await t.services.credentialCache.forget(await userCacheKeys(t.services.orm.em.fork(), member.userId));
    await addSecondFactor(t, admin.userId, 'passkey');
    for (const user of [member, admin]) {
      expect((await get(`${base}/projects`, user)).status).toBe(200);
      expect((await get(`${base}/my-membership`, user)).body.data.mfa).toMatchObject({
        required: true,
        compliant: true,
        blocked: false,
      });
    }
  });

  it('lets the member back in once they turn two-factor on through /auth/two-factor/enable and confirm', async () => {
    const { member, organizationId, base } = await team();
    await requireMfa(t, organizationId);
    expect((await get(`${base}/projects`, member)).body.code).toBe('MFA_REQUIRED');
    // The account routes are not the organization's: setting up a second factor stays open.
    const enabled = await postJson(t, '/api/auth/two-factor/enable', { password: member.password }, member.cookie);
    expect(enabled.status).toBe(200);
    const secret = decodeBase32IgnorePadding(new URL(enabled.body.data.totpURI).searchParams.get('secret')!);
    const code = generateHOTP(secret, BigInt(Math.floor(clock.now().getTime() / 30_000)), 6);
    expect((await postJson(t, '/api/auth/two-factor/confirm', { code }, member.cookie)).status).toBe(200);
    // Confirm drops the member's cached memberships itself: no waiting for the cache to expire.
    expect((await get(`${base}/projects`, member)).status).toBe(200);
    expect((await get(`${base}/my-membership`, member)).body.data.mfa).toMatchObject({ compliant: true });
  });

  it('lifts the shut-out when the policy is turned off', async () => {
    const { owner, member, base } = await team();
    await send('PUT', `${base}/mfa`, owner, { required: true });
    expect((await get(`${base}/projects`, member)).body.code).toBe('MFA_REQUIRED');
    await send('PUT', `${base}/mfa`, owner, { required: false });
    expect((await get(`${base}/projects`, member)).status).toBe(200);
    expect((await get(`${base}/my-membership`, member)).body.data.mfa).toMatchObject({
      required: false,
      compliant: false,
      deadline: null,
      blocked: false,
    });
  });
});

describe('the grace period', () => {
  it('gives each member the grace period from the policy’s start or their joining, whichever is later', async () => {
    const { owner, member, organizationId, base } = await team();
    const on = await send('PUT', `${base}/mfa`, owner, { required: true, gracePeriodDays: 3 });
    const since = new Date(on.body.data.requiredSince).getTime();
    const apiKey = await createApiKey(t, { userId: member.userId });
    const deadline = new Date(since + 3 * DAY_MS).toISOString();
    const shown = await get(`${base}/my-membership`, member);
    expect(shown.body.data.mfa).toEqual({
      required: true,
      compliant: false,
      deadline,
      blocked: false,
      setUp: { enable: '/api/auth/two-factor/enable', passkey: '/api/auth/passkey/register/options' },
    });
    expect((await get(`${base}/projects`, member)).status).toBe(200);
    expect((await get(`${base}/projects`, { apiKey })).status).toBe(200);

    // Someone who joins two days later has their own three days.
    clock.offset = 2 * DAY_MS;
    const late = await signUp(t);
    await t.services.orm.em.fork().insert(MemberSchema, {
      id: newId(),
      organizationId,
      userId: late.userId,
      role: 'member' as const,
      createdAt: clock.now(),
    });
    const joined = (await t.services.orm.em.fork().findOneOrFail(MemberSchema, { userId: late.userId, organizationId }))
      .createdAt;
    const lateDeadline = new Date(joined.getTime() + 3 * DAY_MS).toISOString();
    expect((await get(`${base}/my-membership`, late)).body.data.mfa.deadline).toBe(lateDeadline);

    // A minute past the first deadline (five days of clock, under the sessions' 7-day idle limit).
    clock.offset = since + 3 * DAY_MS + 60_000 - Date.now();
    expect((await get(`${base}/projects`, member)).body).toMatchObject({ code: 'MFA_REQUIRED', meta: { deadline } });
    expect((await get(`${base}/projects`, { apiKey })).body.code).toBe('MFA_REQUIRED');
    expect((await get(`${base}/my-membership`, member)).body.data.mfa.blocked).toBe(true);
    expect((await get(`${base}/projects`, late)).status).toBe(200);

    const compliance = await get(`${base}/mfa/compliance`, owner);
    const byUser = Object.fromEntries(compliance.body.data.map((m: { userId: string }) => [m.userId, m]));
    expect(byUser[member.userId].deadline).toBe(deadline);
    expect(byUser[late.userId].deadline).toBe(lateDeadline);

    clock.offset = new Date(lateDeadline).getTime() - Date.now();
    expect((await get(`${base}/projects`, late)).body.code).toBe('MFA_REQUIRED');
    clock.offset = 0;
  });
});

describe('GET /mfa/compliance', () => {
  it('lists every member with their second factors, pages, searches and filters', async () => {
    const { owner, admin, member, base } = await team();
    const withPasskeys = await signUp(t, { name: 'Grace Hopper' });
    await addMember(
      t,
      (await get(`${base}/my-membership`, owner)).body.data.organization.id,
      withPasskeys.userId,
      'member',
    );
    await addSecondFactor(t, withPasskeys.userId, 'passkey');
    await addSecondFactor(t, withPasskeys.userId, 'passkey');

    const res = await get(`${base}/mfa/compliance`, admin);
    expect(res.body).toMatchObject({
      status: 200,
      message: 'Items fetched successfully',
      meta: { total: 4, offset: 0, limit: 20, hasMore: false },
    });
    // Newest member first; no deadline while the policy is off.
    expect(res.body.data.map((m: { userId: string }) => m.userId)).toEqual([
      withPasskeys.userId,
      member.userId,
      admin.userId,
      owner.userId,
    ]);
    expect(res.body.data[0]).toEqual({
      userId: withPasskeys.userId,
      email: withPasskeys.email,
      fullName: 'Grace Hopper',
      role: 'member',
      twoFactorEnabled: false,
      passkeyCount: 2,
      compliant: true,
      deadline: null,
    });
    expect(res.body.data[3]).toMatchObject({ role: 'owner', twoFactorEnabled: true, passkeyCount: 0, compliant: true });
    expect(res.body.data[1]).toMatchObject({ twoFactorEnabled: false, passkeyCount: 0, compliant: false });
    expect(JSON.stringify(res.body)).not.toMatch(/secret|publicKey|credentialId/i);

    const paged = await get(`${base}/mfa/compliance?limit=1&offset=1`, admin);
    expect(paged.body.meta).toEqual({ total: 4, offset: 1, limit: 1, hasMore: true });
    expect(paged.body.data.map((m: { userId: string }) => m.userId)).toEqual([member.userId]);
    const searched = await get(`${base}/mfa/compliance?q=${encodeURIComponent('HOPPER')}`, admin);
    expect(searched.body.data.map((m: { userId: string }) => m.userId)).toEqual([withPasskeys.userId]);
    const byEmail = await get(`${base}/mfa/compliance?q=${encodeURIComponent(member.email)}`, admin);
    expect(byEmail.body.data.map((m: { userId: string }) => m.userId)).toEqual([member.userId]);
    expect((await get(`${base}/mfa/compliance?q=%25`, admin)).body.meta.total).toBe(0);
    const missing = await get(`${base}/mfa/compliance?compliant=false`, admin);
    expect(missing.body.data.map((m: { userId: string }) => m.userId).sort()).toEqual(
      [member.userId, admin.userId].sort(),
    );
    expect((await get(`${base}/mfa/compliance?compliant=true`, admin)).body.meta.total).toBe(2);
    expect((await get(`${base}/mfa/compliance?compliant=maybe`, admin)).body.code).toBe('VALIDATION_ERROR');
    expect((await get(`${base}/mfa/compliance?limit=0`, admin)).body.code).toBe('VALIDATION_ERROR');

    expect((await get(`${base}/mfa/compliance`, member)).body).toMatchObject({
      status: 403,
      code: 'INSUFFICIENT_PERMISSIONS',
    });
  });
});
