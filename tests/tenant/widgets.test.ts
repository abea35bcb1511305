/** /api/user/organizations/{organizationId}/projects/{projectId}/widgets over REST (and tRPC for the list). */
import { createTRPCClient, httpLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogSchema } from '../../entities/audit-log.js';
import { FormSchema } from '../../entities/form.js';
import { WidgetSchema } from '../../entities/widget.js';
import type { AppRouter } from '../../procedures/index.js';
import { newId } from '../../server/ids.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, ORIGIN, postJson, signUp } from '../support/identity.js';
import { addMember } from '../support/tenancy.js';
import { createProject, type Owner } from '../support/forms.js';
import { insertForm, type WidgetPlace, widgetPlace } from '../support/widgets.js';

const BASE_URL = 'http://api.example.test';
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    env: {
      BASE_URL,
      TRUSTED_ORIGINS: ORIGIN,
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      RATE_LIMIT_GLOBAL_POINTS: '10000',
    },
  });
});
afterAll(async () => {
  await t?.close();
});

type Place = WidgetPlace;
const place = (owner?: Owner) => widgetPlace(t, owner);

const widgetsPath = (p: { organizationId: string; projectId: string }) =>
  `/api/user/organizations/${p.organizationId}/projects/${p.projectId}/widgets`;
const widgetPath = (p: { organizationId: string; projectId: string }, widgetId: string) =>
  `${widgetsPath(p)}/${widgetId}`;
const create = (p: Place, body: unknown) => postJson(t, widgetsPath(p), body, p.owner.cookie);
const get = (p: Place, path: string) => t.request(path, { headers: asBrowser(p.owner.cookie) });
const put = (p: Place, path: string, body: unknown) =>
  t.request(path, { method: 'PUT', headers: asBrowser(p.owner.cookie), body: JSON.stringify(body) });
const del = (p: Place, path: string) => t.request(path, { method: 'DELETE', headers: asBrowser(p.owner.cookie) });
const em = () => t.services.orm.em.fork();
const fieldsOf = (res: { body: { meta: { errors?: { field: string }[] } } }) =>
  (res.body.meta.errors ?? []).map((e) => e.field).sort();

const signupBody = (formId: string, extra: Record<string, unknown> = {}) => ({
  name: 'Footer sign-up',
  type: 'signup-form',
  config: {
    formId,
    title: 'Join us',
    description: 'News once a month',
    submitLabel: 'Sign me up',
    successMessage: 'Thanks!',
    theme: { primaryColor: '#1a2B3c' },
  },
  ...extra,
});

describe('widget CRUD', () => {
  it('creates, reads, lists, updates and deletes, auditing each change', async () => {
    const p = await place();
    const created = await create(p, signupBody(p.formId));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ success: true, code: 'OK', message: 'Widget created successfully', meta: {} });
    const widget = created.body.data;
    expect(Object.keys(widget).sort()).toEqual([
      'config',
      'createdAt',
      'id',
      'name',
      'projectId',
      'publicUrl',
      'published',
      'type',
      'updatedAt',
    ]);
    expect(widget).toMatchObject({
      projectId: p.projectId,
      name: 'Footer sign-up',
      type: 'signup-form',
      published: false,
      config: signupBody(p.formId).config,
      publicUrl: `${BASE_URL}/api/public/widgets/${widget.id}`,
    });
    // The form is the column (cleared with the form), the rest the jsonb.
    const row = await em().findOneOrFail(WidgetSchema, { id: widget.id });
    expect(row).toMatchObject({ organizationId: p.organizationId, formId: p.formId, createdByUserId: p.owner.userId });
    expect(row.config).not.toHaveProperty('formId');

    const fetched = await get(p, widgetPath(p, widget.id));
    expect(fetched.body).toMatchObject({ status: 200, message: 'Widget fetched successfully', data: widget });

    const updated = await put(p, widgetPath(p, widget.id), { name: 'Header sign-up', published: true });
    expect(updated.status).toBe(200);
    expect(updated.body.message).toBe('Widget updated successfully');
    expect(updated.body.data).toMatchObject({ name: 'Header sign-up', published: true, config: widget.config });

    const reconfigured = await put(p, widgetPath(p, widget.id), {
      config: { formId: p.formId, title: 'Only a title' },
    });
    expect(reconfigured.body.data.config).toEqual({ formId: p.formId, title: 'Only a title' });

    // The same values again change nothing and record nothing.
    expect(
      (
        await put(p, widgetPath(p, widget.id), {
          name: 'Header sign-up',
          config: { title: 'Only a title', formId: p.formId },
        })
      ).status,
    ).toBe(200);

    const listed = await get(p, widgetsPath(p));
    expect(listed.body.data).toEqual([reconfigured.body.data]);
    expect(listed.body.meta).toEqual({ total: 1, offset: 0, limit: 20, hasMore: false });

    const deleted = await del(p, widgetPath(p, widget.id));
    expect(deleted.body).toMatchObject({
      status: 200,
      message: 'Widget deleted successfully',
      data: { id: widget.id },
    });
    expect(await em().count(WidgetSchema, { id: widget.id })).toBe(0);
    expect((await get(p, widgetPath(p, widget.id))).body.code).toBe('NOT_FOUND');

    const entries = await em().find(
      AuditLogSchema,
      { organizationId: p.organizationId, targetId: widget.id },
      { orderBy: { id: 'asc' } },
    );
    expect(entries.map((e) => e.action)).toEqual([
      'widget.created',
      'widget.updated',
      'widget.updated',
      'widget.deleted',
    ]);
    expect(entries.every((e) => e.targetType === 'widget' && e.actorUserId === p.owner.userId)).toBe(true);
    expect(entries[0]!.metadata).toEqual({ name: 'Footer sign-up', type: 'signup-form', projectId: p.projectId });
    expect(entries[1]!.metadata).toEqual({ changed: ['name', 'published'] });
    expect(entries[2]!.metadata).toEqual({ changed: ['config'] });
  });

  it('makes a counter of a form’s submissions', async () => {
    const p = await place();
    const res = await create(p, {
      name: 'Sign-ups so far',
      type: 'counter',
      published: true,
      config: { label: 'people joined', formId: p.formId },
    });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      type: 'counter',
      published: true,
      config: { label: 'people joined', formId: p.formId },
    });
  });

  it('keeps the widget when its form is deleted, showing the form as null', async () => {
    const p = await place();
    const widget = (await create(p, signupBody(p.formId))).body.data;
    await em().nativeDelete(FormSchema, { id: p.formId });
    const fetched = await get(p, widgetPath(p, widget.id));
    expect(fetched.status).toBe(200);
    expect(fetched.body.data.config.formId).toBeNull();
    // A new form is given with a whole config.
    const formId = await insertForm(t, p);
    const mended = await put(p, widgetPath(p, widget.id), { config: { formId } });
    expect(mended.body.data.config).toEqual({ formId });
  });

  it('lists newest first, pages, searches names and filters by type, over REST and tRPC alike', async () => {
    const p = await place();
    const names = ['Alpha 100%', 'Bravo', 'Charlie counter'];
    for (const name of names) {
      const body = name.includes('counter')
        ? { name, type: 'counter', config: { label: 'joined', formId: p.formId } }
        : { ...signupBody(p.formId), name };
      expect((await create(p, body)).status).toBe(201);
    }
    const list = (query: string) => get(p, `${widgetsPath(p)}?${query}`);
    const namesOf = (res: { body: { data: { name: string }[] } }) => res.body.data.map((w) => w.name);
    expect(namesOf(await list(''))).toEqual([...names].reverse());
    const page = await list('limit=1&offset=1');
    expect(namesOf(page)).toEqual(['Bravo']);
    expect(page.body.meta).toEqual({ total: 3, offset: 1, limit: 1, hasMore: true });
    expect(namesOf(await list('q=100%25'))).toEqual(['Alpha 100%']);
    expect(namesOf(await list('q=BRAVO'))).toEqual(['Bravo']);
    expect(namesOf(await list('type=counter'))).toEqual(['Charlie counter']);
    const bad = await list('type=banner');
    expect(bad.status).toBe(400);
    expect(bad.body.meta.errors).toEqual([expect.objectContaining({ field: 'type', location: 'query' })]);

    const trpc = await createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${t.url}/trpc`, headers: { cookie: p.owner.cookie, origin: ORIGIN } })],
    }).tenant.widgets.list.query({ organizationId: p.organizationId, projectId: p.projectId });
    expect(trpc.items).toEqual((await list('')).body.data);
  });

  it('lets a plain member read and write widgets', async () => {
    const p = await place();
    const mia = await signUp(t, { name: 'Mia Member' });
    await addMember(t, p.organizationId, mia.userId, 'member');
    const res = await postJson(t, widgetsPath(p), signupBody(p.formId), mia.cookie);
    expect(res.status).toBe(201);
    const entry = await em().findOneOrFail(AuditLogSchema, { targetId: res.body.data.id });
    expect(entry).toMatchObject({ action: 'widget.created', actorUserId: mia.userId });
  });
});

describe('widget config, per type', () => {
  let p: Place;
  beforeAll(async () => {
    p = await place();
  });

  it('refuses another type’s config, unknown keys at any level, bad colours and long texts', async () => {
    const counterWithSignupConfig = await create(p, { ...signupBody(p.formId), type: 'counter' });
    expect(counterWithSignupConfig.status).toBe(400);
    expect(counterWithSignupConfig.body.code).toBe('VALIDATION_ERROR');
    expect(fieldsOf(counterWithSignupConfig)).toEqual([
      'config.description',
      'config.label',
      'config.submitLabel',
      'config.successMessage',
      'config.theme',
      'config.title',
    ]);
    expect(counterWithSignupConfig.body.meta.errors).toContainEqual({
      field: 'config.title',
      error: 'Unknown field',
      location: 'body',
    });

    const cases: [Record<string, unknown>, string[]][] = [
      [{ formId: p.formId, colour: 'red' }, ['config.colour']],
      [{ formId: p.formId, theme: { primaryColor: '#fff' } }, ['config.theme.primaryColor']],
      [{ formId: p.formId, theme: { primaryColor: '#123456', font: 'Comic Sans' } }, ['config.theme.font']],
      [{ formId: p.formId, title: 'x'.repeat(201), submitLabel: '' }, ['config.submitLabel', 'config.title']],
      [{ formId: 'not-a-form' }, ['config.formId']],
      [{ title: 'No form' }, ['config.formId']],
      [{ formId: p.formId, description: { nested: true } }, ['config.description']],
    ];
    for (const [config, fields] of cases) {
      const res = await create(p, { name: 'W', type: 'signup-form', config });
      expect(res.status, JSON.stringify(config)).toBe(400);
      expect(fieldsOf(res), JSON.stringify(config)).toEqual(fields);
      expect(res.body.meta.errors.every((e: { location: string }) => e.location === 'body')).toBe(true);
    }

    const counter = await create(p, {
      name: 'C',
      type: 'counter',
      config: { formId: p.formId, label: 'x'.repeat(101) },
    });
    expect(fieldsOf(counter)).toEqual(['config.label']);

    const body = await create(p, { name: '', type: 'banner', config: [], published: 'maybe', extra: 1 });
    expect(fieldsOf(body)).toEqual(['config', 'extra', 'name', 'type']);
    expect(await em().count(WidgetSchema, { projectId: p.projectId })).toBe(0);
  });

  it('takes only a form of the same project: another project’s or organization’s, or none, is one answer', async () => {
    const sameOrganization = await createProject(t, p.owner);
    const otherProjectsForm = await insertForm(t, { organizationId: p.organizationId, projectId: sameOrganization });
    const elsewhere = await place();
    for (const formId of [otherProjectsForm, elsewhere.formId, newId()]) {
      for (const body of [signupBody(formId), { name: 'C', type: 'counter', config: { label: 'joined', formId } }]) {
        const res = await create(p, body);
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({
          code: 'VALIDATION_ERROR',
          message: 'Invalid config.formId: No form with this id in this project',
        });
        expect(res.body.meta.errors).toEqual([
          { field: 'config.formId', error: 'No form with this id in this project', location: 'body' },
        ]);
      }
    }
    const widget = (await create(p, signupBody(p.formId))).body.data;
    const moved = await put(p, widgetPath(p, widget.id), { config: { formId: elsewhere.formId } });
    expect(moved.body.meta.errors).toEqual([expect.objectContaining({ field: 'config.formId' })]);
    expect((await em().findOneOrFail(WidgetSchema, { id: widget.id })).formId).toBe(p.formId);
  });

  it('changes the type only with a whole config of the new type; a config alone is judged by the current type', async () => {
    const widget = (await create(p, signupBody(p.formId))).body.data;
    const path = widgetPath(p, widget.id);
    const bare = await put(p, path, { type: 'counter' });
    expect(bare.status).toBe(400);
    expect(bare.body.meta.errors).toEqual([
      {
        field: 'config',
        error: 'Required when the type changes: a whole config of the new type',
        location: 'body',
      },
    ]);
    const mismatched = await put(p, path, { config: { label: 'joined', formId: p.formId } });
    expect(fieldsOf(mismatched)).toEqual(['config.label']);
    const sameType = await put(p, path, { type: 'signup-form' });
    expect(sameType.status).toBe(200);

    const changed = await put(p, path, { type: 'counter', config: { label: 'joined', formId: p.formId } });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({ type: 'counter', config: { label: 'joined', formId: p.formId } });
    expect(Object.keys(changed.body.data.config).sort()).toEqual(['formId', 'label']);
    const row = await em().findOneOrFail(WidgetSchema, { id: widget.id });
    expect(row).toMatchObject({ type: 'counter', config: { label: 'joined' }, formId: p.formId });
    const entry = await em().findOneOrFail(
      AuditLogSchema,
      { targetId: widget.id, action: 'widget.updated' },
      { orderBy: { id: 'desc' } },
    );
    expect(entry.metadata).toEqual({ changed: ['type', 'config'] });
  });

  it('refuses an empty update, unknown fields, and NUL bytes', async () => {
    const widget = (await create(p, signupBody(p.formId))).body.data;
    const path = widgetPath(p, widget.id);
    const empty = await put(p, path, {});
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('VALIDATION_ERROR');
    expect(fieldsOf(await put(p, path, { name: 'ok', formId: p.formId }))).toEqual(['formId']);
    const nul = await put(p, path, { config: { formId: p.formId, title: 'a\u0000b' } });
    expect(nul.status).toBe(400);
    expect(fieldsOf(nul)).toEqual(['config.title']);
    const huge = await put(p, path, { config: { formId: p.formId, title: 'x'.repeat(1_000_000) } });
    expect(huge.status).toBe(400);
    expect(fieldsOf(huge)).toEqual(['config.title']);
  });
});

describe('widget tenancy', () => {
  it('answers TENANT_VIOLATION for another organization’s widget and NOT_FOUND for another project’s', async () => {
    const ada = await place();
    const bob = await place();
    const bobs = (await create(bob, { ...signupBody(bob.formId), name: 'Bobs Secret Widget' })).body.data;
    const crossed = { organizationId: ada.organizationId, projectId: ada.projectId };
    for (const res of [
      await get(ada, widgetPath(crossed, bobs.id)),
      await put(ada, widgetPath(crossed, bobs.id), { name: 'Hijacked' }),
      await del(ada, widgetPath(crossed, bobs.id)),
    ]) {
      expect(res.body).toMatchObject({ status: 403, code: 'TENANT_VIOLATION', data: null });
      expect(JSON.stringify(res.body)).not.toContain('Bobs Secret Widget');
    }
    expect((await em().findOneOrFail(WidgetSchema, { id: bobs.id })).name).toBe('Bobs Secret Widget');

    const sibling = await place(ada.owner);
    const mine = (await create(ada, signupBody(ada.formId))).body.data;
    const res = await get(ada, widgetPath(sibling, mine.id));
    expect(res.body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect((await get(ada, widgetsPath(sibling))).body.data).toEqual([]);
  });

  it('answers VALIDATION_ERROR for a malformed widget id', async () => {
    const p = await place();
    const res = await get(p, widgetPath(p, 'abc'));
    expect(res.status).toBe(400);
    expect(res.body.meta.errors).toEqual([{ field: 'widgetId', error: 'Must be a widget id', location: 'params' }]);
  });
});
