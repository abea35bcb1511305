/** Organizations, members and settings over REST: the role matrix, the last-owner rule and audit entries. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogSchema } from '../../entities/audit-log.js';
import { MemberSchema, OrganizationSchema } from '../../entities/organization.js';
import { newId } from '../../server/ids.js';
import { callerFor, startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, postJson, signUp, type SignedUp } from '../support/identity.js';
import { addMember, defaultOrganizationId } from '../support/tenancy.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '1000', RATE_LIMIT_GLOBAL_POINTS: '100000' },
  });
});
afterAll(async () => {
  await t?.close();
});

const get = (path: string, user: SignedUp) => t.request(path, { headers: asBrowser(user.cookie) });
const send = (method: string, path: string, user: SignedUp, body: unknown = {}) =>
  t.request(path, { method, headers: asBrowser(user.cookie), body: JSON.stringify(body) });
const actions = async (organizationId: string) =>
  (
    await t.services.orm.em
      .fork()
      .find(AuditLogSchema, { organizationId }, { orderBy: { createdAt: 'asc', id: 'asc' } })
  ).map((a) => a.action);

/** An organization with an owner, an admin and a member. */
async function team() {
  const [owner, admin, member] = [await signUp(t), await signUp(t), await signUp(t)];
  const organizationId = await defaultOrganizationId(t, owner.userId);
  const adminMemberId = await addMember(t, organizationId, admin.userId, 'admin');
  const memberMemberId = await addMember(t, organizationId, member.userId, 'member');
  const ownerMemberId = (
    await t.services.orm.em.fork().findOneOrFail(MemberSchema, { organizationId, userId: owner.userId })
  ).id;
  return {
    owner,
    admin,
    member,
    organizationId,
    base: `/api/user/organizations/${organizationId}`,
    ownerMemberId,
    adminMemberId,
    memberMemberId,
  };
}

describe('/api/user/organizations', () => {
  it('creates an organization with its creator as owner, and lists memberships', async () => {
    const user = await signUp(t);
    const created = await postJson(
      t,
      '/api/user/organizations',
      { name: 'Acme Research', slug: `acme-${user.userId.slice(-6).toLowerCase()}` },
      user.cookie,
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      code: 'OK',
      message: 'Organization created successfully',
      data: { name: 'Acme Research', role: 'owner' },
    });
    expect(await actions(created.body.data.id)).toEqual(['organization.created']);

    const taken = await postJson(
      t,
      '/api/user/organizations',
      { name: 'Other', slug: created.body.data.slug },
      user.cookie,
    );
    expect(taken.body).toMatchObject({ status: 409, code: 'CONFLICT' });
    const badSlug = await postJson(t, '/api/user/organizations', { name: 'Other', slug: 'Not A Slug' }, user.cookie);
    expect(badSlug.body.code).toBe('VALIDATION_ERROR');
    expect(badSlug.body.meta.errors).toEqual([expect.objectContaining({ field: 'slug', location: 'body' })]);

    const list = await get('/api/user/organizations', user);
    expect(list.body.meta).toMatchObject({ total: 2, offset: 0, limit: 20, hasMore: false });
    expect(list.body.data[0]).toMatchObject({ id: created.body.data.id, role: 'owner' });
    const searched = await get('/api/user/organizations?q=acme', user);
    expect(searched.body.data.map((o: { id: string }) => o.id)).toEqual([created.body.data.id]);
  });
});

describe('the organization', () => {
  it('is readable by members and renamed only with manage-settings', async () => {
    const { member, admin, base } = await team();
    const read = await get(base, member);
    expect(read.body).toMatchObject({ status: 200, data: { memberCount: 3 } });
    const denied = await send('PUT', base, member, { name: 'Renamed' });
    expect(denied.body).toMatchObject({
      status: 403,
      code: 'INSUFFICIENT_PERMISSIONS',
      meta: { requiredPermissions: ['organization:manage-settings'] },
    });
    const renamed = await send('PUT', base, admin, { name: 'Renamed' });
    expect(renamed.body).toMatchObject({ status: 200, data: { name: 'Renamed' } });
    const membership = await get(`${base}/my-membership`, admin);
    expect(membership.body.data).toMatchObject({
      role: 'admin',
      permissions: [
        'organization:read',
        'organization:manage-members',
        'organization:manage-security',
        'organization:manage-settings',
      ],
    });
  });

  it('is deleted only by an owner with a session, confirming with the slug', async () => {
    const { owner, admin, base, organizationId } = await team();
    expect((await send('DELETE', base, admin, { confirm: 'x' })).body.code).toBe('INSUFFICIENT_PERMISSIONS');
    const wrong = await send('DELETE', base, owner, { confirm: 'not-the-slug' });
    expect(wrong.body.code).toBe('VALIDATION_ERROR');
    const slug = (await get(base, owner)).body.data.slug;
    const deleted = await send('DELETE', base, owner, { confirm: slug });
    expect(deleted.body).toMatchObject({ status: 200, data: { id: organizationId } });
    expect(await t.services.orm.em.fork().count(OrganizationSchema, { id: organizationId })).toBe(0);
    expect((await get(base, owner)).body.code).toBe('FORBIDDEN');
  });
});

describe('members', () => {
  it('follow the role matrix: members read, admins manage members but not owners', async () => {
    const { owner, admin, member, base, ownerMemberId, memberMemberId } = await team();
    const list = await get(`${base}/members?limit=1`, member);
    expect(list.body.meta).toEqual({ total: 3, offset: 0, limit: 1, hasMore: true });

    expect((await send('PUT', `${base}/members/${ownerMemberId}/role`, member, { role: 'member' })).body.code).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
    expect((await send('PUT', `${base}/members/${ownerMemberId}/role`, admin, { role: 'member' })).body).toMatchObject({
      code: 'INSUFFICIENT_PERMISSIONS',
      meta: { requiredPermissions: ['owner'] },
    });
    expect((await send('PUT', `${base}/members/${memberMemberId}/role`, admin, { role: 'owner' })).body.code).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
    expect((await send('PUT', `${base}/members/${memberMemberId}/role`, admin, { role: 'superuser' })).body.code).toBe(
      'VALIDATION_ERROR',
    );
    expect((await send('PUT', `${base}/members/${memberMemberId}/role`, admin, { role: 'admin' })).body).toMatchObject({
      status: 200,
      data: { role: 'admin' },
    });
    expect((await send('DELETE', `${base}/members/${ownerMemberId}`, admin)).body.code).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
    expect((await send('DELETE', `${base}/members/${memberMemberId}`, owner)).body).toMatchObject({
      status: 200,
      data: { id: memberMemberId },
    });
    expect((await get(base, member)).body.code).toBe('FORBIDDEN');
  });

  it('always keep one owner', async () => {
    const { owner, admin, base, organizationId, ownerMemberId, adminMemberId } = await team();
    expect((await postJson(t, `${base}/leave`, {}, owner.cookie)).body).toMatchObject({
      status: 409,
      code: 'CONFLICT',
    });
    expect((await send('PUT', `${base}/members/${ownerMemberId}/role`, owner, { role: 'admin' })).body.code).toBe(
      'CONFLICT',
    );
    expect((await send('DELETE', `${base}/members/${ownerMemberId}`, owner)).body.code).toBe('CONFLICT');

    expect((await postJson(t, `${base}/transfer-ownership`, { memberId: adminMemberId }, admin.cookie)).body.code).toBe(
      'INSUFFICIENT_PERMISSIONS',
    );
    const transferred = await postJson(t, `${base}/transfer-ownership`, { memberId: adminMemberId }, owner.cookie);
    expect(transferred.body).toMatchObject({
      status: 200,
      data: { ownerMemberId: adminMemberId, previousOwnerMemberId: ownerMemberId },
    });
    expect((await postJson(t, `${base}/leave`, {}, owner.cookie)).body).toMatchObject({
      status: 200,
      data: { organizationId },
    });
    expect(await actions(organizationId)).toEqual([
      'organization.created',
      'organization.ownership_transferred',
      'member.left',
    ]);
  });

  it('refuse a member id from another organization with TENANT_VIOLATION', async () => {
    const a = await team();
    const b = await team();
    const res = await send('PUT', `${a.base}/members/${b.memberMemberId}/role`, a.owner, { role: 'admin' });
    expect(res.body).toMatchObject({ status: 403, code: 'TENANT_VIOLATION', data: null });
    expect(JSON.stringify(res.body)).not.toContain(b.member.email);
  });
});

describe('settings', () => {
  it('are read and changed with manage-settings, validated, and audited', async () => {
    const { owner, member, base, organizationId } = await team();
    expect((await get(`${base}/settings`, member)).body.code).toBe('INSUFFICIENT_PERMISSIONS');
    expect((await get(`${base}/settings`, owner)).body.data).toEqual({
      timezone: 'UTC',
      locale: 'en-US',
      allowedEmailDomains: [],
    });
    const bad = await send('PUT', `${base}/settings`, owner, {
      timezone: 'Mars/Olympus',
      allowedEmailDomains: ['not a domain'],
    });
    expect(bad.body.code).toBe('VALIDATION_ERROR');
    expect(bad.body.meta.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'allowedEmailDomains.0',
      'timezone',
    ]);
    const ok = await send('PUT', `${base}/settings`, owner, {
      timezone: 'Europe/Paris',
      allowedEmailDomains: ['Example.COM', 'example.com'],
    });
    expect(ok.body.data).toEqual({ timezone: 'Europe/Paris', locale: 'en-US', allowedEmailDomains: ['example.com'] });
    expect(await actions(organizationId)).toEqual(['organization.created', 'organization.settings_updated']);
  });
});

describe('the audit log', () => {
  it('lists entries to those with manage-security, filtered, newest first, and over createCaller', async () => {
    const { owner, admin, member, base, organizationId, memberMemberId } = await team();
    expect((await get(`${base}/audit-logs`, member)).body).toMatchObject({
      code: 'INSUFFICIENT_PERMISSIONS',
      meta: { requiredPermissions: ['organization:manage-security'] },
    });
    await send('PUT', `${base}/members/${memberMemberId}/role`, owner, { role: 'admin' });
    await send('PUT', base, owner, { name: 'Audited' });
    const res = await get(`${base}/audit-logs`, admin);
    // Sign-up created the organization, and said so.
    expect(res.body.meta.total).toBe(3);
    expect(res.body.data.map((e: { action: string }) => e.action)).toEqual([
      'organization.updated',
      'member.role_changed',
      'organization.created',
    ]);
    expect(res.body.data[0]).toMatchObject({
      actor: { id: owner.userId, email: owner.email },
      actorType: 'session',
      ip: '127.0.0.1',
    });
    const filtered = await get(`${base}/audit-logs?action=member.role_changed`, admin);
    expect(filtered.body.data).toHaveLength(1);

    const principal = {
      kind: 'session' as const,
      userId: admin.userId,
      email: admin.email,
      emailVerified: false,
      scopes: new Set<never>(),
    };
    const direct = await callerFor(t.services, { principal }).tenant.auditLogs.list({
      organizationId,
      offset: 0,
      limit: 20,
    });
    expect(direct.items.map((e) => e.id)).toEqual(res.body.data.map((e: { id: string }) => e.id));
  });
});

describe('the audit log export', () => {
  it('streams every matching entry as JSON lines or CSV, and refuses without manage-security', async () => {
    const { owner, member, base, memberMemberId } = await team();
    for (let i = 0; i < 3; i++) await send('PUT', base, owner, { name: `Name ${i}` });
    await send('PUT', `${base}/members/${memberMemberId}/role`, owner, { role: 'admin' });

    const jsonl = await fetch(`${t.url}${base}/audit-logs/export`, { headers: asBrowser(owner.cookie) });
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(jsonl.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-log-.*\.jsonl"$/);
    const entries = (await jsonl.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(entries.map((e) => e.action)).toEqual([
      'member.role_changed',
      'organization.updated',
      'organization.updated',
      'organization.updated',
      'organization.created',
    ]);

    const csv = await fetch(`${t.url}${base}/audit-logs/export?format=csv&action=organization.updated`, {
      headers: asBrowser(owner.cookie),
    });
    const lines = (await csv.text()).trim().split('\n');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(lines[0]).toBe('id,createdAt,action,actorId,actorEmail,actorType,targetType,targetId,ip,userAgent,metadata');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain('"organization.updated"');

    const other = await signUp(t);
    const organizationId = base.split('/').pop()!;
    await addMember(t, organizationId, other.userId, 'member');
    const denied = await t.request(`${base}/audit-logs/export`, { headers: asBrowser(other.cookie) });
    expect(denied.body).toMatchObject({ status: 403, code: 'INSUFFICIENT_PERMISSIONS' });
    void member;
  });

  it('pages through more rows than one batch', async () => {
    const { owner, base, organizationId } = await team();
    const em = t.services.orm.em.fork();
    const rows = Array.from({ length: 1203 }, (_, i) => ({
      id: newId(),
      organizationId,
      actorUserId: owner.userId,
      actorType: 'session',
      action: 'bulk.test',
      targetType: 'organization',
      targetId: organizationId,
      metadata: { i },
      ip: '127.0.0.1',
      userAgent: 'test',
      createdAt: new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 3) * 1000),
    }));
    await em.insertMany(AuditLogSchema, rows);
    const res = await fetch(`${t.url}${base}/audit-logs/export`, { headers: asBrowser(owner.cookie) });
    const ids = (await res.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id);
    expect(ids).toHaveLength(1204);
    expect(new Set(ids).size).toBe(1204);
  });
});
