/**
 * GET /api/public/widgets/{widgetId} as anyone on the internet meets it: the published widget's
 * public config, HTTP caching (ETag, Cache-Control, 304 on If-None-Match, HEAD), CORS for any
 * origin, and one NOT_FOUND for everything that is not served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormSchema } from '../../entities/form.js';
import { WidgetSchema } from '../../entities/widget.js';
import { newId } from '../../server/ids.js';
import { callerFor, startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, ORIGIN, postJson } from '../support/identity.js';
import { setProjectStatus } from '../support/forms.js';
import { addSubmissions, insertForm, WIDGET_FORM_FIELDS, type WidgetPlace, widgetPlace } from '../support/widgets.js';

const BASE_URL = 'http://api.example.test';
const STRANGER = 'https://customer-site.example';
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

type Site = WidgetPlace;
const site = () => widgetPlace(t);

const tenantPath = (s: Site) => `/api/user/organizations/${s.organizationId}/projects/${s.projectId}/widgets`;

async function createWidget(s: Site, body: Record<string, unknown>): Promise<string> {
  const res = await postJson(t, tenantPath(s), { published: true, ...body }, s.owner.cookie);
  if (res.status !== 201) throw new Error(`widget: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data.id;
}

const updateWidget = (s: Site, widgetId: string, body: Record<string, unknown>) =>
  t.request(`${tenantPath(s)}/${widgetId}`, {
    method: 'PUT',
    headers: asBrowser(s.owner.cookie),
    body: JSON.stringify(body),
  });

const fetchWidget = (widgetId: string, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(`${t.url}/api/public/widgets/${widgetId}`, { method, headers });

/** The body of an answer, as the test reads it. */
const readJson = (res: Response): Promise<any> => res.json();

const SIGNUP_CONFIG = {
  title: 'Join the beta',
  description: 'One email a month',
  submitLabel: 'Count me in',
  successMessage: 'Welcome aboard!',
  theme: { primaryColor: '#ff6600' },
};

describe('a published sign-up form widget', () => {
  let s: Site;
  let widgetId: string;
  beforeAll(async () => {
    s = await site();
    widgetId = await createWidget(s, {
      name: 'Beta',
      type: 'signup-form',
      config: { formId: s.formId, ...SIGNUP_CONFIG },
    });
  });

  it('answers its public config and form, with no credential, for any origin', async () => {
    const res = await fetchWidget(widgetId, { origin: STRANGER });
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body).toEqual({
      success: true,
      status: 200,
      code: 'OK',
      message: 'Widget fetched successfully',
      data: {
        id: widgetId,
        type: 'signup-form',
        config: SIGNUP_CONFIG,
        form: {
          id: s.formId,
          fields: WIDGET_FORM_FIELDS,
          honeypotField: 'website_url',
          submitUrl: `${BASE_URL}/api/public/forms/${s.formId}/submissions`,
        },
      },
      meta: {},
    });
    // Nothing of the tenant side: no name, project, organization, publication flag.
    expect(JSON.stringify(body)).not.toContain(s.projectId);
    expect(JSON.stringify(body)).not.toContain('Beta');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('access-control-expose-headers')).toEqual(expect.stringContaining('ETag'));
    expect(res.headers.get('vary')).toMatch(/origin/i);
  });

  it('is cacheable: Cache-Control, a strong ETag of the exact body, and 304 when it matches', async () => {
    const first = await fetchWidget(widgetId);
    const text = await first.text();
    const etag = first.headers.get('etag')!;
    expect(first.headers.get('cache-control')).toBe('public, max-age=60');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    const { createHash } = await import('node:crypto');
    expect(etag).toBe(`"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`);
    // The same answer, the same ETag.
    expect((await fetchWidget(widgetId)).headers.get('etag')).toBe(etag);

    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, `W/"x,y", W/${etag}`, '*']) {
      const again = await fetchWidget(widgetId, { 'if-none-match': ifNoneMatch, origin: STRANGER });
      expect(again.status, ifNoneMatch).toBe(304);
      expect(await again.text()).toBe('');
      expect(again.headers.get('etag')).toBe(etag);
      expect(again.headers.get('cache-control')).toBe('public, max-age=60');
      expect(again.headers.get('content-type')).toBeNull();
      expect(again.headers.get('access-control-allow-origin')).toBe('*');
      expect(again.headers.get('x-request-id')).toBeTruthy();
    }
    for (const ifNoneMatch of ['"other"', `${etag.slice(0, -2)}"`, etag.replaceAll('"', ''), `"${etag}"`]) {
      const fresh = await fetchWidget(widgetId, { 'if-none-match': ifNoneMatch });
      expect(fresh.status, ifNoneMatch).toBe(200);
      expect(await fresh.text()).toBe(text);
    }
  });

  it('answers HEAD like GET without a body, 304 included', async () => {
    const get = await fetchWidget(widgetId);
    const head = await fetchWidget(widgetId, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(head.headers.get('etag')).toBe(get.headers.get('etag'));
    expect(head.headers.get('cache-control')).toBe('public, max-age=60');
    const notModified = await fetchWidget(widgetId, { 'if-none-match': get.headers.get('etag')! }, 'HEAD');
    expect(notModified.status).toBe(304);
  });

  it('changes its ETag when what it shows changes, and only then', async () => {
    const before = (await fetchWidget(widgetId)).headers.get('etag')!;
    expect((await updateWidget(s, widgetId, { name: 'Renamed inside the dashboard' })).status).toBe(200);
    expect((await fetchWidget(widgetId, { 'if-none-match': before })).status).toBe(304);
    const retitled = await updateWidget(s, widgetId, { config: { formId: s.formId, ...SIGNUP_CONFIG, title: 'New' } });
    expect(retitled.status).toBe(200);
    const after = await fetchWidget(widgetId, { 'if-none-match': before });
    expect(after.status).toBe(200);
    expect((await readJson(after)).data.config.title).toBe('New');
    expect(after.headers.get('etag')).not.toBe(before);
  });

  it('is the same answer to a direct call', async () => {
    const direct = await callerFor(t.services).public.widgets.get({ widgetId });
    const rest = await readJson(await fetchWidget(widgetId));
    expect(direct).toEqual(rest.data);
  });
});

describe('a published counter widget', () => {
  it('counts the submissions of its form, and no other form’s', async () => {
    const s = await site();
    const other = await insertForm(t, s);
    await addSubmissions(t, { organizationId: s.organizationId, projectId: s.projectId, formId: s.formId }, 7);
    await addSubmissions(t, { organizationId: s.organizationId, projectId: s.projectId, formId: other }, 3);
    const widgetId = await createWidget(s, {
      name: 'Joined',
      type: 'counter',
      config: { label: 'people joined', formId: s.formId },
    });

    const res = await fetchWidget(widgetId, { origin: STRANGER });
    const body = await readJson(res);
    expect(body.data).toEqual({ id: widgetId, type: 'counter', config: { label: 'people joined' }, count: 7 });
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    const etag = res.headers.get('etag')!;
    expect((await fetchWidget(widgetId, { 'if-none-match': etag })).status).toBe(304);

    await addSubmissions(t, { organizationId: s.organizationId, projectId: s.projectId, formId: s.formId }, 5);
    const later = await fetchWidget(widgetId, { 'if-none-match': etag });
    expect(later.status).toBe(200);
    expect((await readJson(later)).data.count).toBe(12);
    expect(later.headers.get('etag')).not.toBe(etag);
  });

  it('counts zero for a form nobody submitted, and keeps counting once the form is unpublished', async () => {
    const s = await site();
    const widgetId = await createWidget(s, {
      name: 'Joined',
      type: 'counter',
      config: { label: 'joined', formId: s.formId },
    });
    expect((await readJson(await fetchWidget(widgetId))).data.count).toBe(0);
    await t.services.orm.em.fork().nativeUpdate(FormSchema, { id: s.formId }, { published: false });
    expect((await fetchWidget(widgetId)).status).toBe(200);
  });
});

describe('what is not served', () => {
  const NOT_FOUND = {
    success: false,
    status: 404,
    code: 'NOT_FOUND',
    message: 'No published widget with this id',
    data: null,
  };

  async function expectNotServed(widgetId: string, label: string) {
    const res = await fetchWidget(widgetId, { origin: STRANGER });
    const body = await readJson(res);
    expect(body, label).toMatchObject(NOT_FOUND);
    expect(Object.keys(body.meta), label).toEqual(['requestId']);
    expect(res.headers.get('etag'), label).toBeNull();
    expect(res.headers.get('cache-control'), label).toBe('no-store');
    expect(res.headers.get('access-control-allow-origin'), label).toBe('*');
    expect((await fetchWidget(widgetId, { 'if-none-match': '*' })).status, label).toBe(404);
  }

  it('answers one NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of [newId(), 'abc', newId().toLowerCase(), 'x'.repeat(2000), '%20', "1' or '1'='1"]) {
      await expectNotServed(encodeURIComponent(id), id.slice(0, 40));
    }
  });

  it('answers the same NOT_FOUND for an unpublished widget, a draft or paused project, and a deleted form', async () => {
    const s = await site();
    const signup = { name: 'W', type: 'signup-form', config: { formId: s.formId, title: 'Secret launch' } };
    const unpublished = await createWidget(s, { ...signup, published: false });
    await expectNotServed(unpublished, 'unpublished');

    const live = await createWidget(s, signup);
    const counter = await createWidget(s, {
      name: 'C',
      type: 'counter',
      config: { label: 'joined', formId: s.formId },
    });
    expect((await fetchWidget(live)).status).toBe(200);
    for (const status of ['paused', 'draft']) {
      await setProjectStatus(t, s.owner, s.projectId, status);
      await expectNotServed(live, status);
      await expectNotServed(counter, `${status} counter`);
    }
    await setProjectStatus(t, s.owner, s.projectId, 'active');
    expect((await fetchWidget(live)).status).toBe(200);

    // A sign-up form nobody could submit is not shown either.
    await t.services.orm.em.fork().nativeUpdate(FormSchema, { id: s.formId }, { published: false });
    await expectNotServed(live, 'unpublished form');
    expect((await fetchWidget(counter)).status).toBe(200);

    await t.services.orm.em.fork().nativeDelete(FormSchema, { id: s.formId });
    expect(await t.services.orm.em.fork().findOneOrFail(WidgetSchema, { id: live })).toMatchObject({ formId: null });
    await expectNotServed(live, 'deleted form');
    await expectNotServed(counter, 'deleted form counter');
  });

  it('answers NOT_FOUND at once when a published widget is unpublished or deleted', async () => {
    const s = await site();
    const id = await createWidget(s, { name: 'W', type: 'counter', config: { label: 'joined', formId: s.formId } });
    expect((await fetchWidget(id)).status).toBe(200);
    expect((await updateWidget(s, id, { published: false })).status).toBe(200);
    await expectNotServed(id, 'unpublished later');
    await t.request(`${tenantPath(s)}/${id}`, { method: 'DELETE', headers: asBrowser(s.owner.cookie) });
    await expectNotServed(id, 'deleted');
  });

  it('refuses other methods with 405', async () => {
    const res = await t.request(`/api/public/widgets/${newId()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(405);
    expect(res.body.code).toBe('METHOD_NOT_ALLOWED');
  });
});
