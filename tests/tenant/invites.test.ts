/** Organization invitations over REST: both sides, with the emails received by a real SMTP server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogSchema } from '../../entities/audit-log.js';
import { InviteSchema } from '../../entities/invite.js';
import { DEFAULT_SETTINGS, MemberSchema, OrganizationSchema } from '../../entities/organization.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, postJson, signUp, uniqueEmail, type SignedUp } from '../support/identity.js';
import { startInbox, type Inbox } from '../support/mail.js';
import { addMember, defaultOrganizationId } from '../support/tenancy.js';
import { ROOMY_PLANS } from '../support/plans.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const INVITED = /invited to join/;

let t: TestApp;
let inbox: Inbox;
const clock = { at: Date.now(), now: () => new Date(clock.at) };

beforeAll(async () => {
  inbox = await startInbox();
  t = await startTestApp({
    env: {
      SMTP_URL: inbox.url,
      BILLING_PLANS: ROOMY_PLANS,
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      RATE_LIMIT_EMAIL_SEND_POINTS: '100',
    },
    now: clock.now,
  });
});
afterAll(async () => {
  await t?.close();
  await inbox?.close();
});

const db = () => t.services.orm.em.fork();
const get = (path: string, cookie: string) => t.request(path, { headers: asBrowser(cookie) });
const del = (path: string, cookie: string) => t.request(path, { method: 'DELETE', headers: asBrowser(cookie) });
const invitesOf = (organizationId: string) => `/api/user/organizations/${organizationId}/invites`;
const invite = (organizationId: string, cookie: string, body: Record<string, unknown>) =>
  postJson(t, invitesOf(organizationId), body, cookie);
const accept = (token: string, cookie: string) =>
  postJson(t, `/api/user/invites/${encodeURIComponent(token)}/accept`, {}, cookie);

async function verify(user: SignedUp): Promise<void> {
  const res = await postJson(t, '/api/auth/verify-email', { token: await inbox.tokenFor(user.email, /Verify/) });
  expect(res.status).toBe(200);
}

async function verifiedUser(email = uniqueEmail('invitee')): Promise<SignedUp> {
  const user = await signUp(t, { email });
  await verify(user);
  return user;
}

/** An owner with their default organization. */
async function owner(): Promise<SignedUp & { organizationId: string }> {
  const user = await signUp(t, { email: uniqueEmail('owner'), name: 'Grace Hopper' });
  return { ...user, organizationId: await defaultOrganizationId(t, user.userId) };
}

/** The token of the newest invitation mail to `email` that differs from `previous`. */
async function inviteToken(email: string, previous?: string): Promise<string> {
  let token = '';
  await expect.poll(async () => (token = await inbox.tokenFor(email, INVITED)), { timeout: 10_000 }).not.toBe(previous);
  return token;
}

/** Invites `email` and returns the invite id and the token from the mail. */
async function invited(by: { organizationId: string; cookie: string }, email: string, role = 'member') {
  const res = await invite(by.organizationId, by.cookie, { email, role });
  expect(res.status).toBe(201);
  return { id: res.body.data.id as string, token: await inviteToken(email) };
}

describe('the invitation flow', () => {
  it('owner invites, the invitee sees it, accepts it and becomes a member', async () => {
    const boss = await owner();
    const email = uniqueEmail('invitee');
    const res = await invite(boss.organizationId, boss.cookie, { email: email.toUpperCase(), role: 'admin' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      success: true,
      code: 'OK',
      message: 'Invitation sent successfully',
      data: {
        email,
        role: 'admin',
        status: 'pending',
        invitedBy: { id: boss.userId, fullName: 'Grace Hopper' },
        acceptedAt: null,
      },
    });
    expect(new Date(res.body.data.expiresAt).getTime() - clock.at).toBe(7 * DAY_MS);
    expect(JSON.stringify(res.body)).not.toMatch(/token|hash/i);

    const mail = await inbox.waitFor(email, INVITED);
    const token = await inviteToken(email);
    expect(mail.text).toContain(`${t.services.config.appUrl}/invites/accept?token=${token}`);
    expect(mail.text).toContain(`POST /api/user/invites/${token}/accept`);
    expect(mail.html).toContain('/invites/accept?token=');

    const listed = await get(invitesOf(boss.organizationId), boss.cookie);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({
      message: 'Items fetched successfully',
      meta: { total: 1, offset: 0, limit: 20, hasMore: false },
    });
    expect(listed.body.data[0]).toMatchObject({ id: res.body.data.id, email, status: 'pending' });
    expect(JSON.stringify(listed.body)).not.toMatch(/token|hash/i);

    const invitee = await verifiedUser(email);
    const mine = await get('/api/user/invites', invitee.cookie);
    expect(mine.status).toBe(200);
    expect(mine.body.meta.total).toBe(1);
    expect(mine.body.data[0]).toEqual({
      id: res.body.data.id,
      organization: { id: boss.organizationId, name: expect.any(String), slug: expect.any(String) },
      role: 'admin',
      invitedBy: { id: boss.userId, fullName: 'Grace Hopper' },
      expiresAt: res.body.data.expiresAt,
      createdAt: res.body.data.createdAt,
    });

    const accepted = await accept(token, invitee.cookie);
    expect(accepted.status).toBe(201);
    expect(accepted.body).toMatchObject({
      code: 'OK',
      message: 'Invitation accepted',
      data: { organization: { id: boss.organizationId }, role: 'admin', memberId: expect.any(String) },
    });
    const member = await db().findOneOrFail(MemberSchema, {
      organizationId: boss.organizationId,
      userId: invitee.userId,
    });
    expect(member).toMatchObject({ id: accepted.body.data.memberId, role: 'admin' });
    expect((await db().findOneOrFail(InviteSchema, { id: res.body.data.id })).status).toBe('accepted');
    const actions = (await db().find(AuditLogSchema, { organizationId: boss.organizationId })).map((a) => [
      a.action,
      a.actorUserId,
    ]);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['invite.created', boss.userId],
        ['member.joined', invitee.userId],
      ]),
    );

    expect((await get('/api/user/invites', invitee.cookie)).body.data).toEqual([]);
    const after = await get(`${invitesOf(boss.organizationId)}?status=accepted`, boss.cookie);
    expect(after.body.data).toEqual([
      expect.objectContaining({ id: res.body.data.id, status: 'accepted', acceptedAt: expect.any(String) }),
    ]);
    expect((await get(`${invitesOf(boss.organizationId)}?status=pending`, boss.cookie)).body.data).toEqual([]);
  });
});

describe('who may invite whom', () => {
  it('member cannot invite; admin invites a member but not an owner; owner invites an owner', async () => {
    const boss = await owner();
    const [admin, plain] = [await signUp(t), await signUp(t)];
    await addMember(t, boss.organizationId, admin.userId, 'admin');
    await addMember(t, boss.organizationId, plain.userId, 'member');

    const byMember = await invite(boss.organizationId, plain.cookie, { email: uniqueEmail() });
    expect(byMember.status).toBe(403);
    expect(byMember.body).toMatchObject({
      code: 'INSUFFICIENT_PERMISSIONS',
      meta: { requiredPermissions: ['organization:manage-members'] },
    });
    expect((await get(invitesOf(boss.organizationId), plain.cookie)).status).toBe(200);

    const byAdmin = await invite(boss.organizationId, admin.cookie, { email: uniqueEmail() });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.data.role).toBe('member');
    const ownerByAdmin = await invite(boss.organizationId, admin.cookie, { email: uniqueEmail(), role: 'owner' });
    expect(ownerByAdmin.status).toBe(403);
    expect(ownerByAdmin.body).toMatchObject({
      code: 'INSUFFICIENT_PERMISSIONS',
      meta: { requiredPermissions: ['owner'] },
    });

    const ownerByOwner = await invite(boss.organizationId, boss.cookie, { email: uniqueEmail(), role: 'owner' });
    expect(ownerByOwner.status).toBe(201);
    expect(ownerByOwner.body.data.role).toBe('owner');
  });
});

describe('bad invitations', () => {
  it('refuses an unknown role, an unknown field, an existing member and a second pending invite', async () => {
    const boss = await owner();
    const superuser = await invite(boss.organizationId, boss.cookie, { email: uniqueEmail(), role: 'superuser' });
    expect(superuser.status).toBe(400);
    expect(superuser.body.code).toBe('VALIDATION_ERROR');
    expect(superuser.body.meta.errors).toEqual([expect.objectContaining({ field: 'role', location: 'body' })]);
    const extra = await invite(boss.organizationId, boss.cookie, { email: uniqueEmail(), admin: true });
    expect(extra.body.code).toBe('VALIDATION_ERROR');

    const colleague = await signUp(t);
    await addMember(t, boss.organizationId, colleague.userId, 'member');
    const member = await invite(boss.organizationId, boss.cookie, { email: colleague.email });
    expect(member.status).toBe(409);
    expect(member.body.code).toBe('CONFLICT');
    expect((await invite(boss.organizationId, boss.cookie, { email: boss.email })).status).toBe(409);

    const email = uniqueEmail();
    expect((await invite(boss.organizationId, boss.cookie, { email })).status).toBe(201);
    const again = await invite(boss.organizationId, boss.cookie, { email: email.toUpperCase(), role: 'admin' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CONFLICT');
    expect(again.body.message).toMatch(/resend/i);
  });

  it('enforces the organization’s allowed email domains', async () => {
    const boss = await owner();
    await db().nativeUpdate(
      OrganizationSchema,
      { id: boss.organizationId },
      { settings: { ...DEFAULT_SETTINGS, allowedEmailDomains: ['allowed.test'] } },
    );
    const outside = await invite(boss.organizationId, boss.cookie, { email: uniqueEmail() });
    expect(outside.status).toBe(400);
    expect(outside.body.code).toBe('VALIDATION_ERROR');
    expect(outside.body.meta.errors).toEqual([expect.objectContaining({ field: 'email', location: 'body' })]);
    const inside = await invite(boss.organizationId, boss.cookie, { email: `someone-${Date.now()}@Allowed.test` });
    expect(inside.status).toBe(201);
  });
});

describe('accepting', () => {
  it('refuses a revoked, a foreign, an unverified and an already used invitation', async () => {
    const boss = await owner();

    const revokedEmail = uniqueEmail('revoked');
    const revoked = await invited(boss, revokedEmail);
    const revoke = await del(`${invitesOf(boss.organizationId)}/${revoked.id}`, boss.cookie);
    expect(revoke.status).toBe(200);
    expect(revoke.body).toMatchObject({ code: 'OK', data: { id: revoked.id } });
    expect((await del(`${invitesOf(boss.organizationId)}/${revoked.id}`, boss.cookie)).body.code).toBe('CONFLICT');
    const late = await accept(revoked.token, (await verifiedUser(revokedEmail)).cookie);
    expect(late.status).toBe(404);
    expect(late.body).toMatchObject({
      code: 'NOT_FOUND',
      message: 'This invitation is invalid, expired or no longer pending',
    });
    expect(
      (await db().find(AuditLogSchema, { organizationId: boss.organizationId, action: 'invite.revoked' })).length,
    ).toBe(1);

    const intended = uniqueEmail('intended');
    const foreign = await invited(boss, intended);
    const stranger = await verifiedUser();
    const wrong = await accept(foreign.token, stranger.cookie);
    expect(wrong.status).toBe(403);
    expect(wrong.body).toMatchObject({ code: 'FORBIDDEN', message: 'This invitation was sent to another address' });

    const unverified = await signUp(t, { email: intended, verified: false });
    expect((await get('/api/user/invites', unverified.cookie)).body).toMatchObject({ data: [], meta: { total: 0 } });
    const early = await accept(foreign.token, unverified.cookie);
    expect(early.status).toBe(403);
    expect(early.body.code).toBe('EMAIL_NOT_VERIFIED');

    await verify(unverified);
    expect((await accept(foreign.token, unverified.cookie)).status).toBe(201);
    const reused = await accept(foreign.token, unverified.cookie);
    expect(reused.status).toBe(404);
    expect(reused.body.code).toBe('NOT_FOUND');
    expect((await accept('not-a-token', unverified.cookie)).status).toBe(404);
  });

  it('refuses a caller who is already a member', async () => {
    const boss = await owner();
    const email = uniqueEmail('twice');
    const { token } = await invited(boss, email);
    const user = await verifiedUser(email);
    await addMember(t, boss.organizationId, user.userId, 'member');
    const res = await accept(token, user.cookie);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('CONFLICT');
  });

  it('makes exactly one membership of two concurrent accepts', async () => {
    const boss = await owner();
    const email = uniqueEmail('race');
    const { token } = await invited(boss, email);
    const user = await verifiedUser(email);
    const results = await Promise.all([accept(token, user.cookie), accept(token, user.cookie)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(201);
    expect([404, 409]).toContain(statuses[1]);
    expect(await db().count(MemberSchema, { organizationId: boss.organizationId, userId: user.userId })).toBe(1);
    expect(await db().count(AuditLogSchema, { organizationId: boss.organizationId, action: 'member.joined' })).toBe(1);
  });
});

describe('resending and tenancy', () => {
  it('resend rotates the token: the old one no longer accepts, the new one does', async () => {
    const boss = await owner();
    const email = uniqueEmail('resend');
    const first = await invited(boss, email);
    const res = await postJson(t, `${invitesOf(boss.organizationId)}/${first.id}/resend`, {}, boss.cookie);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ code: 'OK', data: { id: first.id, email, status: 'pending' } });
    const second = await inviteToken(email, first.token);

    const user = await verifiedUser(email);
    expect((await accept(first.token, user.cookie)).status).toBe(404);
    expect((await accept(second, user.cookie)).status).toBe(201);
    const again = await postJson(t, `${invitesOf(boss.organizationId)}/${first.id}/resend`, {}, boss.cookie);
    expect(again.status).toBe(409);
    expect(await db().count(AuditLogSchema, { organizationId: boss.organizationId, action: 'invite.resent' })).toBe(1);
  });

  it('another organization’s invite id is TENANT_VIOLATION; a malformed one VALIDATION_ERROR', async () => {
    const [ours, theirs] = [await owner(), await owner()];
    const { id } = await invited(theirs, uniqueEmail());
    const revoke = await del(`${invitesOf(ours.organizationId)}/${id}`, ours.cookie);
    expect(revoke.status).toBe(403);
    expect(revoke.body.code).toBe('TENANT_VIOLATION');
    const resend = await postJson(t, `${invitesOf(ours.organizationId)}/${id}/resend`, {}, ours.cookie);
    expect(resend.body.code).toBe('TENANT_VIOLATION');
    expect((await db().findOneOrFail(InviteSchema, { id })).status).toBe('pending');
    const bad = await del(`${invitesOf(ours.organizationId)}/nope`, ours.cookie);
    expect(bad.status).toBe(400);
    expect(bad.body.meta.errors).toEqual([expect.objectContaining({ field: 'inviteId', location: 'params' })]);
    expect((await del(`${invitesOf(ours.organizationId)}/01ARZ3NDEKTSV4RRFFQ69G5FAV`, ours.cookie)).body.code).toBe(
      'NOT_FOUND',
    );
  });
});

describe('invitations lose their force with their sender’s authority', () => {
  const put = (path: string, cookie: string, body: unknown) =>
    t.request(path, { method: 'PUT', headers: asBrowser(cookie), body: JSON.stringify(body) });
  const statusOf = async (id: string) => (await db().findOneOrFail(InviteSchema, { id })).status;
  const reasons = async (organizationId: string) =>
    (await db().find(AuditLogSchema, { organizationId, action: 'invite.revoked' })).map(
      (entry) => (entry.metadata as { reason?: string }).reason,
    );

  /** An organization whose admin has sent a member invitation. */
  async function withAdminInvites() {
    const boss = await owner();
    const admin = await signUp(t);
    const memberId = await addMember(t, boss.organizationId, admin.userId, 'admin');
    const email = uniqueEmail('by-admin');
    const sent = await invited({ organizationId: boss.organizationId, cookie: admin.cookie }, email);
    return { boss, admin, memberId, email, sent };
  }

  it('a removed sender’s pending invitations are revoked with the removal, and no longer accept', async () => {
    const { boss, memberId, email, sent } = await withAdminInvites();
    expect((await del(`/api/user/organizations/${boss.organizationId}/members/${memberId}`, boss.cookie)).status).toBe(
      200,
    );
    expect(await statusOf(sent.id)).toBe('revoked');
    expect((await accept(sent.token, (await verifiedUser(email)).cookie)).body.code).toBe('NOT_FOUND');
    expect(await reasons(boss.organizationId)).toEqual(['sender-removed']);
  });

  it('a sender demoted below manage-members loses every pending invitation', async () => {
    const { boss, memberId, sent } = await withAdminInvites();
    expect(
      (
        await put(`/api/user/organizations/${boss.organizationId}/members/${memberId}/role`, boss.cookie, {
          role: 'member',
        })
      ).status,
    ).toBe(200);
    expect(await statusOf(sent.id)).toBe('revoked');
    expect(await reasons(boss.organizationId)).toEqual(['sender-demoted']);
  });

  it('whoever resends an invitation becomes its sender, and loses it when demoted', async () => {
    const boss = await owner();
    const admin = await signUp(t);
    const adminMemberId = await addMember(t, boss.organizationId, admin.userId, 'admin');
    const sent = await invited(boss, uniqueEmail('resent'));
    const resent = await postJson(
      t,
      `/api/user/organizations/${boss.organizationId}/invites/${sent.id}/resend`,
      {},
      admin.cookie,
    );
    expect(resent.status).toBe(200);
    expect(resent.body.data.invitedBy).toMatchObject({ id: admin.userId });
    expect(
      (
        await put(`/api/user/organizations/${boss.organizationId}/members/${adminMemberId}/role`, boss.cookie, {
          role: 'member',
        })
      ).status,
    ).toBe(200);
    expect(await statusOf(sent.id)).toBe('revoked');
  });

  it('a sender who leaves loses their pending invitations', async () => {
    const { boss, admin, sent } = await withAdminInvites();
    expect((await postJson(t, `/api/user/organizations/${boss.organizationId}/leave`, {}, admin.cookie)).status).toBe(
      200,
    );
    expect(await statusOf(sent.id)).toBe('revoked');
  });

  it('an owner demoted to admin, by a role change or a transfer, loses the owner invitations and keeps the others', async () => {
    for (const demote of ['role', 'transfer'] as const) {
      const boss = await owner();
      const coOwner = await signUp(t);
      const coOwnerId = await addMember(t, boss.organizationId, coOwner.userId, 'owner');
      const asOwner = await invited(boss, uniqueEmail('as-owner'), 'owner');
      const asMember = await invited(boss, uniqueEmail('as-member'), 'member');
      const bossMemberId = (
        await db().findOneOrFail(MemberSchema, { organizationId: boss.organizationId, userId: boss.userId })
      ).id;
      const res =
        demote === 'role'
          ? await put(`/api/user/organizations/${boss.organizationId}/members/${bossMemberId}/role`, coOwner.cookie, {
              role: 'admin',
            })
          : await postJson(
              t,
              `/api/user/organizations/${boss.organizationId}/transfer-ownership`,
              { memberId: coOwnerId },
              boss.cookie,
            );
      expect(res.status, demote).toBe(200);
      expect([await statusOf(asOwner.id), await statusOf(asMember.id)], demote).toEqual(['revoked', 'pending']);
    }
  });

  it('of a demotion and a concurrent invitation by the demoted admin, no invitation outlives the demotion', async () => {
    for (let round = 0; round < 5; round++) {
      const boss = await owner();
      const admin = await signUp(t);
      const memberId = await addMember(t, boss.organizationId, admin.userId, 'admin');
      await Promise.all([
        invite(boss.organizationId, admin.cookie, { email: uniqueEmail('racing') }),
        put(`/api/user/organizations/${boss.organizationId}/members/${memberId}/role`, boss.cookie, { role: 'member' }),
      ]);
      expect(
        await db().count(InviteSchema, {
          organizationId: boss.organizationId,
          invitedByUserId: admin.userId,
          status: 'pending',
        }),
      ).toBe(0);
    }
  });
});

describe('invitation mail', () => {
  it('keeps what users typed out of the subject line', async () => {
    const boss = await owner();
    await db().nativeUpdate(
      OrganizationSchema,
      { id: boss.organizationId },
      { name: 'Your account is locked: verify at evil.example' },
    );
    const email = uniqueEmail('subject');
    await invited(boss, email);
    const mail = await inbox.waitFor(email, INVITED);
    expect(mail.subject).toBe('You have been invited to join an organization');
  });

  it('spends a mail budget per invited address and per organization, on create and on resend', async () => {
    const strict = await startTestApp({
      env: {
        SMTP_URL: inbox.url,
        BILLING_PLANS: ROOMY_PLANS,
        RATE_LIMIT_EMAIL_SEND_POINTS: '2',
        RATE_LIMIT_ORGANIZATION_EMAIL_POINTS: '5',
      },
    });
    try {
      const boss = await signUp(strict);
      const organizationId = await defaultOrganizationId(strict, boss.userId);
      const path = `/api/user/organizations/${organizationId}/invites`;
      const first = await postJson(strict, path, { email: uniqueEmail('spam') }, boss.cookie);
      expect(first.status).toBe(201);
      // The same address twice more: the resend spends its second point, the next one is refused.
      expect((await postJson(strict, `${path}/${first.body.data.id}/resend`, {}, boss.cookie)).status).toBe(200);
      const third = await postJson(strict, `${path}/${first.body.data.id}/resend`, {}, boss.cookie);
      expect(third.body).toMatchObject({ status: 429, code: 'RATE_LIMIT_ERROR' });
      // Other addresses: the organization's allowance (5; three spent, the refused resend too) runs out after two more.
      expect((await postJson(strict, path, { email: uniqueEmail('spam') }, boss.cookie)).status).toBe(201);
      expect((await postJson(strict, path, { email: uniqueEmail('spam') }, boss.cookie)).status).toBe(201);
      const refused = await postJson(strict, path, { email: uniqueEmail('spam') }, boss.cookie);
      expect(refused.body).toMatchObject({ status: 429, code: 'RATE_LIMIT_ERROR' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await strict.close();
    }
  });
});

// Last: it moves the shared clock past every session created so far.
describe('expiry', () => {
  it('an invitation expires after 7 days; resending it revives it', async () => {
    const boss = await owner();
    const email = uniqueEmail('expired');
    const stale = await invited(boss, email);
    const other = await invited(boss, uniqueEmail('other'));
    clock.at += 8 * DAY_MS;

    // Sessions idle for 8 days are gone: everyone signs in (or up) again at the new time.
    const signIn = await postJson(t, '/api/auth/sign-in/email', { email: boss.email, password: boss.password });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers
      .getSetCookie()
      .find((c) => c.startsWith('session='))!
      .split(';')[0]!;
    const listed = await get(`${invitesOf(boss.organizationId)}?status=expired`, cookie);
    expect(listed.body.data.map((i: { id: string; status: string }) => [i.id, i.status]).sort()).toEqual(
      [
        [other.id, 'expired'],
        [stale.id, 'expired'],
      ].sort(),
    );

    const user = await verifiedUser(email);
    expect((await get('/api/user/invites', user.cookie)).body.data).toEqual([]);
    const res = await accept(stale.token, user.cookie);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');

    expect((await postJson(t, `${invitesOf(boss.organizationId)}/${stale.id}/resend`, {}, cookie)).status).toBe(200);
    const fresh = await inviteToken(email, stale.token);
    expect((await accept(fresh, user.cookie)).status).toBe(201);
  });
});
