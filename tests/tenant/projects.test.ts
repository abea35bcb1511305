/** /api/user/organizations/{organizationId}/projects over REST, tRPC and createCaller. */
import { createTRPCClient, httpLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogSchema } from '../../entities/audit-log.js';
import { ProjectSchema } from '../../entities/project.js';
import type { AppRouter } from '../../procedures/index.js';
import { newId } from '../../server/ids.js';
import { callerFor, startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, ORIGIN, postJson, signUp, type SignedUp } from '../support/identity.js';
import { addMember, defaultOrganizationId } from '../support/tenancy.js';
import { ROOMY_PLANS } from '../support/plans.js';

// The clock the service reads; frozen by the tests that need equal timestamps.
let frozen: Date | undefined;
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '100', BILLING_PLANS: ROOMY_PLANS },
    now: () => frozen ?? new Date(),
  });
});
afterAll(async () => {
  await t?.close();
});

const projectsPath = (organizationId: string) => `/api/user/organizations/${organizationId}/projects`;
const projectPath = (organizationId: string, projectId: string) => `${projectsPath(organizationId)}/${projectId}`;
const create = (user: SignedUp, organizationId: string, body: Record<string, unknown>) =>
  postJson(t, projectsPath(organizationId), body, user.cookie);
const get = (user: SignedUp, path: string) => t.request(path, { headers: asBrowser(user.cookie) });
const put = (user: SignedUp, path: string, body: unknown) =>
  t.request(path, { method: 'PUT', headers: asBrowser(user.cookie), body: JSON.stringify(body) });
const del = (user: SignedUp, path: string) => t.request(path, { method: 'DELETE', headers: asBrowser(user.cookie) });
const em = () => t.services.orm.em.fork();

async function owner(name = 'Ada Lovelace'): Promise<SignedUp & { organizationId: string }> {
  const user = await signUp(t, { name });
  return { ...user, organizationId: await defaultOrganizationId(t, user.userId) };
}

describe('project CRUD', () => {
  it('creates, reads, updates and deletes, auditing each change', async () => {
    const ada = await owner();
    const created = await create(ada, ada.organizationId, {
      name: '  Launch Site ',
      slug: 'launch',
      website: 'https://example.com',
      description: 'The big one',
    });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['code', 'data', 'message', 'meta', 'status', 'success']);
    expect(created.body).toMatchObject({
      success: true,
      status: 201,
      code: 'OK',
      message: 'Project created successfully',
      meta: {},
    });
    const project = created.body.data;
    expect(project).toMatchObject({
      name: 'Launch Site',
      slug: 'launch',
      website: 'https://example.com',
      description: 'The big one',
      status: 'draft',
      createdByUser: { id: ada.userId, fullName: 'Ada Lovelace' },
    });
    expect(Object.keys(project).sort()).toEqual([
      'allowedOrigins',
      'createdAt',
      'createdByUser',
      'description',
      'id',
      'name',
      'publishableKey',
      'slug',
      'status',
      'updatedAt',
      'website',
    ]);
    expect(project.publishableKey).toMatch(/^pk_[A-Za-z0-9_-]{32}$/);
    expect(project.createdAt).toBe(project.updatedAt);
    const row = await em().findOneOrFail(ProjectSchema, { id: project.id });
    expect(row).toMatchObject({
      organizationId: ada.organizationId,
      slug: 'launch',
      createdByUserId: ada.userId,
      publishableKey: project.publishableKey,
    });

    const fetched = await get(ada, projectPath(ada.organizationId, project.id));
    expect(fetched.status).toBe(200);
    expect(fetched.body).toMatchObject({ code: 'OK', message: 'Project fetched successfully', data: project });

    const updated = await put(ada, projectPath(ada.organizationId, project.id), {
      name: 'Launch Pad',
      status: 'active',
      website: null,
    });
    expect(updated.status).toBe(200);
    expect(updated.body.message).toBe('Project updated successfully');
    expect(updated.body.data).toMatchObject({
      id: project.id,
      name: 'Launch Pad',
      slug: 'launch',
      status: 'active',
      website: null,
      createdAt: project.createdAt,
    });
    expect(Date.parse(updated.body.data.updatedAt)).toBeGreaterThanOrEqual(Date.parse(project.updatedAt));
    expect(await em().findOneOrFail(ProjectSchema, { id: project.id })).toMatchObject({
      name: 'Launch Pad',
      status: 'active',
      website: null,
    });

    const deleted = await del(ada, projectPath(ada.organizationId, project.id));
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({
      success: true,
      code: 'OK',
      message: 'Project deleted successfully',
      data: { id: project.id },
    });
    expect(await em().count(ProjectSchema, { id: project.id })).toBe(0);
    expect((await get(ada, projectPath(ada.organizationId, project.id))).body.code).toBe('NOT_FOUND');

    const entries = await em().find(
      AuditLogSchema,
      { organizationId: ada.organizationId, targetId: project.id },
      { orderBy: { id: 'asc' } },
    );
    expect(entries.map((e) => e.action)).toEqual(['project.created', 'project.updated', 'project.deleted']);
    expect(
      entries.every((e) => e.targetType === 'project' && e.actorUserId === ada.userId && e.actorType === 'session'),
    ).toBe(true);
    expect(entries[1]!.metadata).toEqual({ changed: ['name', 'website', 'status'] });
  });

  it('derives a free slug from the name when none is given', async () => {
    const ada = await owner();
    const first = await create(ada, ada.organizationId, { name: 'Café Résumé!' });
    const second = await create(ada, ada.organizationId, { name: 'Cafe resume' });
    expect(first.body.data.slug).toBe('cafe-resume');
    expect(second.body.data.slug).toBe('cafe-resume-2');
    expect((await create(ada, ada.organizationId, { name: '☕' })).body.data.slug).toBe('project');
  });

  it('shows createdByUser as null once its creator is gone', async () => {
    const ada = await owner();
    const grace = await signUp(t, { name: 'Grace Hopper' });
    await addMember(t, ada.organizationId, grace.userId, 'member');
    const created = await create(grace, ada.organizationId, { name: 'Orphan' });
    expect(created.body.data.createdByUser).toEqual({ id: grace.userId, fullName: 'Grace Hopper' });
    const gone = await t.request('/api/user/me', {
      method: 'DELETE',
      headers: asBrowser(grace.cookie),
      body: JSON.stringify({ password: grace.password }),
    });
    expect(gone.status).toBe(200);
    expect((await get(ada, projectPath(ada.organizationId, created.body.data.id))).body.data.createdByUser).toBeNull();
  });
});

describe('project validation and slugs', () => {
  it('refuses a malformed slug, unknown fields, bad URLs and an empty update', async () => {
    const ada = await owner();
    for (const slug of ['Bad_Slug', '-lead', 'double--dash', '', 'x'.repeat(65)]) {
      const res = await create(ada, ada.organizationId, { name: 'P', slug });
      expect(res.status, slug).toBe(400);
      expect(res.body.code).toBe('VALIDATION_ERROR');
      expect(res.body.meta.errors).toEqual([expect.objectContaining({ field: 'slug', location: 'body' })]);
    }
    const mixed = await create(ada, ada.organizationId, {
      name: '',
      website: 'ftp://example.com',
      description: 'x'.repeat(2001),
      status: 'archived',
      extra: 1,
    });
    expect(mixed.body.code).toBe('VALIDATION_ERROR');
    expect(mixed.body.meta.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'description',
      'extra',
      'name',
      'status',
      'website',
    ]);

    const project = (await create(ada, ada.organizationId, { name: 'Valid' })).body.data;
    const empty = await put(ada, projectPath(ada.organizationId, project.id), {});
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('VALIDATION_ERROR');
    const unknown = await put(ada, projectPath(ada.organizationId, project.id), {
      name: 'ok',
      publishableKey: 'pk_mine',
    });
    expect(unknown.body.meta.errors).toEqual([{ field: 'publishableKey', error: 'Unknown field', location: 'body' }]);
  });

  it('keeps slugs unique per organization, on create and on update', async () => {
    const ada = await owner();
    const bob = await owner('Bob');
    expect((await create(ada, ada.organizationId, { name: 'One', slug: 'shared' })).status).toBe(201);
    const clash = await create(ada, ada.organizationId, { name: 'Two', slug: 'shared' });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ success: false, code: 'CONFLICT', data: null });
    expect(clash.body.message).toMatch(/slug/);
    expect((await create(bob, bob.organizationId, { name: 'Elsewhere', slug: 'shared' })).status).toBe(201);

    const other = (await create(ada, ada.organizationId, { name: 'Other', slug: 'other' })).body.data;
    const renamed = await put(ada, projectPath(ada.organizationId, other.id), { slug: 'shared' });
    expect(renamed.status).toBe(409);
    expect(renamed.body.code).toBe('CONFLICT');
    expect(
      (await put(ada, projectPath(ada.organizationId, other.id), { slug: 'other', name: 'Same slug again' })).status,
    ).toBe(200);
    expect(await em().count(ProjectSchema, { organizationId: ada.organizationId, slug: 'shared' })).toBe(1);
  });

  it('turns a lost race for a slug into CONFLICT', async () => {
    const ada = await owner();
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => create(ada, ada.organizationId, { name: `Racer ${n}`, slug: 'race' })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
  });
});

describe('project tenancy', () => {
  let ada: SignedUp & { organizationId: string };
  let bob: SignedUp & { organizationId: string };
  let bobsProject: { id: string; name: string; slug: string; publishableKey: string };
  beforeAll(async () => {
    ada = await owner();
    bob = await owner('Bob');
    bobsProject = (await create(bob, bob.organizationId, { name: 'Bobs Secret Plan', slug: 'bobs-secret-plan' })).body
      .data;
  });

  it('refuses a non-member on the organization path', async () => {
    for (const res of [
      await get(bob, projectsPath(ada.organizationId)),
      await create(bob, ada.organizationId, { name: 'Intruder' }),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    }
  });

  it('answers TENANT_VIOLATION, without its data, for another organization’s project', async () => {
    const path = projectPath(ada.organizationId, bobsProject.id);
    for (const res of [await get(ada, path), await put(ada, path, { name: 'Hijacked' }), await del(ada, path)]) {
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ success: false, code: 'TENANT_VIOLATION', data: null });
      const text = JSON.stringify(res.body);
      for (const secret of [bobsProject.name, bobsProject.slug, bobsProject.publishableKey])
        expect(text).not.toContain(secret);
    }
    expect(await em().findOneOrFail(ProjectSchema, { id: bobsProject.id })).toMatchObject({ name: 'Bobs Secret Plan' });
    expect((await get(ada, projectsPath(ada.organizationId))).body.data).toEqual([]);
  });

  it('answers NOT_FOUND for an unknown id and VALIDATION_ERROR for a malformed one', async () => {
    const unknown = await get(ada, projectPath(ada.organizationId, newId()));
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('NOT_FOUND');
    for (const res of [
      await get(ada, projectPath(ada.organizationId, 'abc')),
      await put(ada, projectPath(ada.organizationId, 'abc'), { name: 'x' }),
    ]) {
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_ERROR');
      expect(res.body.meta.errors).toEqual([{ field: 'projectId', error: 'Must be a project id', location: 'params' }]);
    }
  });

  it('answers TENANT_CONTEXT_MISSING for a malformed organization id', async () => {
    const res = await get(ada, projectsPath('not-an-id'));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('TENANT_CONTEXT_MISSING');
  });
});

describe('a plain member', () => {
  it('reads and writes projects, and sees the same list over REST, tRPC and createCaller', async () => {
    const ada = await owner();
    const mia = await signUp(t, { name: 'Mia Member' });
    await addMember(t, ada.organizationId, mia.userId, 'member');
    await create(ada, ada.organizationId, { name: 'By the owner' });
    const mine = await create(mia, ada.organizationId, { name: 'By the member', status: 'active' });
    expect(mine.status).toBe(201);
    expect((await put(mia, projectPath(ada.organizationId, mine.body.data.id), { description: 'Edited' })).status).toBe(
      200,
    );

    const rest = await get(mia, projectsPath(ada.organizationId));
    expect(rest.status).toBe(200);
    expect(rest.body.message).toBe('Items fetched successfully');
    expect(rest.body.meta).toEqual({ total: 2, offset: 0, limit: 20, hasMore: false });
    const trpc = await createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${t.url}/trpc`, headers: { cookie: mia.cookie, origin: ORIGIN } })],
    }).tenant.projects.list.query({ organizationId: ada.organizationId });
    const principal = {
      kind: 'session' as const,
      userId: mia.userId,
      email: mia.email,
      emailVerified: false,
      scopes: new Set<never>(),
    };
    const direct = await callerFor(t.services, { principal }).tenant.projects.list({
      organizationId: ada.organizationId,
    });
    expect(direct.items.map((p) => p.name)).toEqual(['By the member', 'By the owner']);
    expect(rest.body.data).toEqual(direct.items);
    expect(trpc).toEqual(direct);

    const deleted = await del(mia, projectPath(ada.organizationId, mine.body.data.id));
    expect(deleted.body.data).toEqual({ id: mine.body.data.id });
  });
});

describe('GET …/projects: paging, search, filters and order', () => {
  let ada: SignedUp & { organizationId: string };
  const names = [
    'Alpha',
    'Bravo',
    'Charlie',
    '100% Juice',
    'Plain 100 Juice',
    'snake_case tool',
    'snake-case',
    'Café ☕',
    'back\\slash',
  ];
  const active = new Set(['Alpha', 'Bravo', 'Charlie']);
  const ids: string[] = [];
  const list = (query: string) => get(ada, `${projectsPath(ada.organizationId)}?${query}`);
  const namesOf = (res: { body: { data: { name: string }[] } }) => res.body.data.map((p) => p.name);

  beforeAll(async () => {
    ada = await owner();
    // One instant for every project, so that only the id decides the default order.
    frozen = new Date();
    try {
      for (const name of names) {
        const res = await create(ada, ada.organizationId, { name, status: active.has(name) ? 'active' : 'paused' });
        expect(res.status).toBe(201);
        ids.push(res.body.data.id);
      }
    } finally {
      frozen = undefined;
    }
  });

  it('lists newest first, ties broken by id', async () => {
    const res = await list('');
    expect(res.body.data.map((p: { id: string }) => p.id)).toEqual([...ids].reverse());
    expect(new Set(res.body.data.map((p: { createdAt: string }) => p.createdAt)).size).toBe(1);
    expect(res.body.meta).toEqual({ total: names.length, offset: 0, limit: 20, hasMore: false });
  });

  it('pages: past the end, limit 1 and limit 100', async () => {
    const past = await list('offset=50');
    expect(past.status).toBe(200);
    expect(past.body.data).toEqual([]);
    expect(past.body.meta).toEqual({ total: names.length, offset: 50, limit: 20, hasMore: false });
    const one = await list('limit=1&offset=2');
    expect(one.body.data.map((p: { id: string }) => p.id)).toEqual([ids[ids.length - 3]]);
    expect(one.body.meta).toEqual({ total: names.length, offset: 2, limit: 1, hasMore: true });
    const all = await list('limit=100');
    expect(all.body.data).toHaveLength(names.length);
    expect(all.body.meta.hasMore).toBe(false);
    // Past the end with filters, the total still counts the matches.
    const filtered = await list(`q=${encodeURIComponent(names[0]!)}&status=${encodeURIComponent('draft')}&offset=500`);
    expect(filtered.body.data).toEqual([]);
    const matching = await list(`q=${encodeURIComponent(names[0]!)}&status=draft&limit=100`);
    expect(filtered.body.meta.total).toBe(matching.body.data.length);
  });

  it('refuses limit 0 and 101, a bad status and a bad sort', async () => {
    for (const query of ['limit=0', 'limit=101', 'status=archived', 'sort=slug']) {
      const res = await list(query);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('VALIDATION_ERROR');
      expect(res.body.meta.errors).toEqual([
        expect.objectContaining({ field: query.split('=')[0], location: 'query' }),
      ]);
    }
  });

  it('searches name and slug case-insensitively, with %, _, \\ and unicode taken literally', async () => {
    const q = async (value: string) => namesOf(await list(`q=${encodeURIComponent(value)}`)).sort();
    expect(await q('100%')).toEqual(['100% Juice']);
    expect(await q('snake_case')).toEqual(['snake_case tool']);
    expect(await q('\\')).toEqual(['back\\slash']);
    expect(await q('café ☕')).toEqual(['Café ☕']);
    expect(await q('CAFÉ')).toEqual(['Café ☕']);
    expect(await q('☕')).toEqual(['Café ☕']);
    expect(await q('ALPHA')).toEqual(['Alpha']);
    // The slug too: "Plain 100 Juice" is plain-100-juice.
    expect(await q('plain-100')).toEqual(['Plain 100 Juice']);
    expect(await q('%')).toEqual(['100% Juice']);
    expect(await q('_')).toEqual(['snake_case tool']);
    expect((await list('q=nothing-like-this')).body.meta.total).toBe(0);
  });

  it('filters by status and sorts by name both ways', async () => {
    const filtered = await list('status=active');
    expect(filtered.body.meta.total).toBe(3);
    expect(namesOf(await list('status=active&sort=name'))).toEqual(['Alpha', 'Bravo', 'Charlie']);
    expect(namesOf(await list('status=active&sort=-name'))).toEqual(['Charlie', 'Bravo', 'Alpha']);
    expect(namesOf(await list('status=active&sort=createdAt'))).toEqual(['Alpha', 'Bravo', 'Charlie']);
    const paused = await list('status=paused&q=juice');
    expect(namesOf(paused).sort()).toEqual(['100% Juice', 'Plain 100 Juice']);
  });
});
