/** /api/user/organizations/{organizationId}/projects/{projectId}/forms over real HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogSchema } from '../../entities/audit-log.js';
import { FormSchema, FormSubmissionSchema } from '../../entities/form.js';
import { newId } from '../../server/ids.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, postJson } from '../support/identity.js';
import {
  createForm,
  createProject,
  formOwner,
  formsPath,
  SIGNUP_FIELDS,
  submitPath,
  type Owner,
} from '../support/forms.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    env: {
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      BASE_URL: 'http://forms.example.com',
      TRUSTED_ORIGINS: 'http://localhost:3000',
    },
  });
});
afterAll(async () => {
  await t?.close();
});

const em = () => t.services.orm.em.fork();
const get = (owner: Owner, path: string) => t.request(path, { headers: asBrowser(owner.cookie) });
const put = (owner: Owner, path: string, body: unknown) =>
  t.request(path, { method: 'PUT', headers: asBrowser(owner.cookie), body: JSON.stringify(body) });
const del = (owner: Owner, path: string) => t.request(path, { method: 'DELETE', headers: asBrowser(owner.cookie) });

describe('form CRUD', () => {
  it('creates, reads, lists, updates and deletes, auditing each change', async () => {
    const ada = await formOwner(t);
    const projectId = await createProject(t, ada);
    const created = await postJson(
      t,
      formsPath(ada, projectId),
      { name: ' Newsletter ', fields: SIGNUP_FIELDS },
      ada.cookie,
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ success: true, code: 'OK', message: 'Form created successfully', meta: {} });
    const form = created.body.data;
    expect(Object.keys(form).sort()).toEqual([
      'createdAt',
      'fields',
      'honeypotField',
      'id',
      'name',
      'projectId',
      'published',
      'submitUrl',
      'updatedAt',
    ]);
    expect(form).toMatchObject({
      projectId,
      name: 'Newsletter',
      published: false,
      honeypotField: 'website_url',
      submitUrl: `http://forms.example.com/api/public/forms/${form.id}/submissions`,
    });
    // Defaults are filled in: required false, a maxLength for text types only, options for select only.
    expect(form.fields).toEqual([
      { name: 'email', label: 'Email', type: 'email', required: true, maxLength: 254, options: null },
      { name: 'fullName', label: 'Name', type: 'text', required: false, maxLength: 50, options: null },
      { name: 'age', label: 'Age', type: 'number', required: false, maxLength: null, options: null },
      { name: 'plan', label: 'Plan', type: 'select', required: false, maxLength: null, options: ['free', 'pro'] },
      { name: 'newsletter', label: 'Newsletter', type: 'checkbox', required: false, maxLength: null, options: null },
      { name: 'message', label: 'Message', type: 'textarea', required: false, maxLength: 200, options: null },
    ]);
    const row = await em().findOneOrFail(FormSchema, { id: form.id });
    expect(row).toMatchObject({ organizationId: ada.organizationId, projectId, createdByUserId: ada.userId });

    const path = `${formsPath(ada, projectId)}/${form.id}`;
    const fetched = await get(ada, path);
    expect(fetched.body).toMatchObject({ status: 200, message: 'Form fetched successfully', data: form });

    const listed = await get(ada, formsPath(ada, projectId));
    expect(listed.body).toMatchObject({
      message: 'Items fetched successfully',
      data: [form],
      meta: { total: 1, offset: 0, limit: 20, hasMore: false },
    });

    const updated = await put(ada, path, {
      published: true,
      honeypotField: 'company_site',
      fields: [{ name: 'email', label: 'Your email', type: 'email', required: true }],
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.message).toBe('Form updated successfully');
    expect(updated.body.data).toMatchObject({
      id: form.id,
      name: 'Newsletter',
      published: true,
      honeypotField: 'company_site',
      fields: [{ name: 'email', label: 'Your email', type: 'email', required: true, maxLength: 254, options: null }],
      createdAt: form.createdAt,
    });
    // Nothing changed: no audit entry.
    expect((await put(ada, path, { published: true })).status).toBe(200);

    const deleted = await del(ada, path);
    expect(deleted.body).toMatchObject({ status: 200, message: 'Form deleted successfully', data: { id: form.id } });
    expect(await em().count(FormSchema, { id: form.id })).toBe(0);
    expect((await get(ada, path)).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });

    const entries = await em().find(
      AuditLogSchema,
      { organizationId: ada.organizationId, targetType: 'form' },
      { orderBy: { id: 'asc' } },
    );
    expect(entries.map((e) => e.action)).toEqual(['form.created', 'form.updated', 'form.deleted']);
    expect(entries.every((e) => e.targetId === form.id && e.actorUserId === ada.userId)).toBe(true);
    expect(entries[1]!.metadata).toEqual({ changed: ['published', 'fields', 'honeypotField'] });
  });

  it('lists newest first, pages, and filters by name and published', async () => {
    const ada = await formOwner(t);
    const projectId = await createProject(t, ada);
    const first = await createForm(t, ada, projectId, { name: 'Alpha signup' });
    const second = await createForm(t, ada, projectId, { name: 'Beta waitlist', published: false });
    const third = await createForm(t, ada, projectId, { name: 'Gamma signup' });
    const ids = async (query: string) => (await get(ada, `${formsPath(ada, projectId)}${query}`)).body;
    expect((await ids('')).data.map((f: any) => f.id)).toEqual([third.id, second.id, first.id]);
    expect(await ids('?limit=2&offset=1')).toMatchObject({
      data: [{ id: second.id }, { id: first.id }],
      meta: { total: 3, offset: 1, limit: 2, hasMore: false },
    });
    expect((await ids('?q=SIGNUP')).data.map((f: any) => f.id)).toEqual([third.id, first.id]);
    expect((await ids('?published=false')).data.map((f: any) => f.id)).toEqual([second.id]);
    // Another project's forms are not listed.
    const other = await createProject(t, ada);
    expect((await get(ada, formsPath(ada, other))).body.meta.total).toBe(0);
  });

  it('answers NOT_FOUND for a form of another project of the same organization', async () => {
    const ada = await formOwner(t);
    const projectId = await createProject(t, ada);
    const other = await createProject(t, ada);
    const form = await createForm(t, ada, projectId);
    expect((await get(ada, `${formsPath(ada, other)}/${form.id}`)).body).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    });
    expect((await get(ada, `${formsPath(ada, newId())}`)).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });
});

describe('form definitions that are refused', () => {
  let ada: Owner;
  let projectId: string;
  beforeAll(async () => {
    ada = await formOwner(t);
    projectId = await createProject(t, ada);
  });

  async function refused(body: Record<string, unknown>) {
    const res = await postJson(t, formsPath(ada, projectId), { name: 'Form', ...body }, ada.cookie);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    return Object.fromEntries(res.body.meta.errors.map((e: any) => [e.field, e.error]));
  }

  const field = (extra: Record<string, unknown>) => ({ name: 'email', label: 'Email', type: 'email', ...extra });

  it('names each bad field of the definition', async () => {
    expect(
      await refused({
        fields: [
          field({ name: '1st' }),
          field({ name: 'formId' }),
          field({ name: 'plan', type: 'select' }),
          field({ name: 'size', type: 'select', options: ['s', 's'] }),
          field({ name: 'age', type: 'number', maxLength: 3 }),
          field({ name: 'bio', type: 'textarea', maxLength: 10_001 }),
          field({ name: 'note', type: 'text', options: ['a'] }),
          field({ name: 'kind', type: 'color' }),
          field({ name: 'email', label: '' }),
        ],
      }),
    ).toEqual({
      'fields.0.name': 'Must be a letter, then letters, digits or underscores (64 at most)',
      'fields.1.name': 'Is reserved: choose another name',
      'fields.2.options': 'A select field needs at least one option',
      'fields.3.options': 'Must not repeat an option',
      'fields.4.maxLength': 'Only text, email and textarea fields have one',
      'fields.5.maxLength': 'Must be between 1 and 10000',
      'fields.6.options': 'Only select fields have options',
      'fields.7.type': expect.any(String),
      'fields.8.label': 'Required',
    });
  });

  it('refuses repeated field names, no fields, more than 50, and unknown keys', async () => {
    expect(await refused({ fields: [field({}), field({ label: 'Again' })] })).toEqual({
      'fields.1.name': 'Another field is named email',
    });
    expect(await refused({ fields: [] })).toEqual({ fields: 'A form needs at least one field' });
    const many = Array.from({ length: 51 }, (_, i) => field({ name: `f${i}` }));
    expect(await refused({ fields: many })).toEqual({ fields: 'A form has at most 50 fields' });
    expect(await refused({ fields: [field({ placeholder: 'x' })] })).toEqual({
      'fields.0.placeholder': 'Unknown field',
    });
    expect(await refused({ fields: [field({})], color: 'red' })).toEqual({ color: 'Unknown field' });
  });

  it('keeps the honeypot off the field names', async () => {
    expect(await refused({ fields: [field({})], honeypotField: 'email' })).toEqual({
      honeypotField: 'Must not be the name of a field (email)',
    });
    expect(await refused({ fields: [field({})], honeypotField: 'has space' })).toHaveProperty('honeypotField');
    // The submission route's path parameter would always fill it.
    expect(await refused({ fields: [field({})], honeypotField: 'formId' })).toEqual({
      honeypotField: 'Is reserved: choose another name',
    });
    // Without one, a plausible name no field has is chosen.
    const form = await createForm(t, ada, projectId, { fields: [field({ name: 'website_url', type: 'text' })] });
    expect(form.honeypotField).toBe('company_website');
    const res = await put(ada, `${formsPath(ada, projectId)}/${form.id}`, {
      fields: [field({ name: 'company_website', type: 'text' })],
    });
    expect(res.body).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
      meta: { errors: [{ field: 'honeypotField', location: 'body' }] },
    });
  });

  it('refuses an update that changes nothing at all', async () => {
    const form = await createForm(t, ada, projectId);
    const res = await put(ada, `${formsPath(ada, projectId)}/${form.id}`, {});
    expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
  });
});

describe('submissions', () => {
  let ada: Owner;
  let projectId: string;
  let form: any;
  let submissionsPath: string;
  const times: Date[] = [];
  const ids: string[] = [];

  beforeAll(async () => {
    ada = await formOwner(t);
    projectId = await createProject(t, ada);
    form = await createForm(t, ada, projectId);
    submissionsPath = `${formsPath(ada, projectId)}/${form.id}/submissions`;
    // Five submissions an hour apart, oldest first; the last one carries what a spreadsheet would run.
    const base = Date.parse('2026-11-01T10:00:00.000Z');
    for (let i = 0; i < 5; i++) {
      const id = newId();
      times.push(new Date(base + i * 3_600_000));
      ids.push(id);
      await em().insert(FormSubmissionSchema, {
        id,
        organizationId: ada.organizationId,
        projectId,
        formId: form.id,
        data:
          i === 4
            ? {
                email: 'eve@example.com',
                fullName: '=HYPERLINK("http://evil")',
                age: -3,
                plan: 'pro',
                newsletter: true,
              }
            : { email: `n${i}@example.com`, fullName: `N "${i}", esq.`, age: i, plan: null, newsletter: false },
        ip: `192.0.2.${i}`,
        userAgent: i === 4 ? null : 'Agent/1',
        createdAt: times[i]!,
      });
    }
  });

  it('lists newest first, paged', async () => {
    const res = await get(ada, `${submissionsPath}?limit=2`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      message: 'Items fetched successfully',
      meta: { total: 5, offset: 0, limit: 2, hasMore: true },
    });
    expect(res.body.data.map((s: any) => s.id)).toEqual([ids[4], ids[3]]);
    expect(Object.keys(res.body.data[1]).sort()).toEqual(['createdAt', 'data', 'id', 'ip', 'userAgent']);
    expect(res.body.data[1]).toMatchObject({
      ip: '192.0.2.3',
      userAgent: 'Agent/1',
      createdAt: times[3]!.toISOString(),
      data: { email: 'n3@example.com', age: 3 },
    });
    const last = await get(ada, `${submissionsPath}?limit=2&offset=4`);
    expect(last.body.data.map((s: any) => s.id)).toEqual([ids[0]]);
    expect(last.body.meta.hasMore).toBe(false);
  });

  it('filters by time: from inclusive, to exclusive; refuses from after to', async () => {
    const query = `from=${times[1]!.toISOString()}&to=${times[3]!.toISOString()}`;
    const res = await get(ada, `${submissionsPath}?${query}`);
    expect(res.body.data.map((s: any) => s.id)).toEqual([ids[2], ids[1]]);
    expect(res.body.meta.total).toBe(2);
    const offset = await get(ada, `${submissionsPath}?from=${encodeURIComponent('2026-11-01T13:00:00+02:00')}`);
    expect(offset.body.meta.total).toBe(4);
    const backwards = await get(
      ada,
      `${submissionsPath}?from=${times[3]!.toISOString()}&to=${times[1]!.toISOString()}`,
    );
    expect(backwards.body).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
      meta: { errors: [{ field: 'to', error: 'Must not be before from', location: 'query' }] },
    });
    const malformed = await get(ada, `${submissionsPath}?from=yesterday`);
    expect(malformed.body.meta.errors).toEqual([
      { field: 'from', error: 'Must be an ISO 8601 date and time', location: 'query' },
    ]);
  });

  it('exports CSV with a column per field, formulas neutralised', async () => {
    const res = await fetch(`${t.url}${submissionsPath}/export?format=csv`, { headers: asBrowser(ada.cookie) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="form-[0-9A-Z]{26}-submissions-/);
    const lines = (await res.text()).trimEnd().split('\n');
    expect(lines[0]).toBe('"id","createdAt","ip","userAgent","email","fullName","age","plan","newsletter","message"');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toBe(
      `"${ids[4]}","${times[4]!.toISOString()}","192.0.2.4","","eve@example.com","'=HYPERLINK(""http://evil"")","-3","pro","true",""`,
    );
    expect(lines[5]).toBe(
      `"${ids[0]}","${times[0]!.toISOString()}","192.0.2.0","Agent/1","n0@example.com","N ""0"", esq.","0","","false",""`,
    );
  });

  it('exports JSON lines, filtered by time', async () => {
    const res = await fetch(`${t.url}${submissionsPath}/export?format=ndjson&from=${times[3]!.toISOString()}`, {
      headers: asBrowser(ada.cookie),
    });
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const entries = (await res.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(entries.map((e) => e.id)).toEqual([ids[4], ids[3]]);
    expect(entries[0]).toEqual({
      id: ids[4],
      data: { email: 'eve@example.com', fullName: '=HYPERLINK("http://evil")', age: -3, plan: 'pro', newsletter: true },
      ip: '192.0.2.4',
      userAgent: null,
      createdAt: times[4]!.toISOString(),
    });
  });

  it('exports more than one batch, in order', async () => {
    const big = await createForm(t, ada, projectId, { fields: [{ name: 'n', label: 'N', type: 'number' }] });
    const base = Date.now() - 3_600_000;
    const rows = Array.from({ length: 1203 }, (_, i) => ({
      id: newId(),
      organizationId: ada.organizationId,
      projectId,
      formId: big.id,
      data: { n: i },
      ip: '192.0.2.1',
      userAgent: null,
      // Pairs share a timestamp, so the id breaks ties across batch boundaries.
      createdAt: new Date(base + Math.floor(i / 2) * 1000),
    }));
    await em().insertMany(FormSubmissionSchema, rows);
    const res = await fetch(`${t.url}${formsPath(ada, projectId)}/${big.id}/submissions/export`, {
      headers: asBrowser(ada.cookie),
    });
    const lines = (await res.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(1204);
    const expected = [...rows].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
    expect(lines.slice(1).map((line) => line.split(',')[0]!.replaceAll('"', ''))).toEqual(expected.map((r) => r.id));
  });

  it('lists what the public submitted, with the address it came from', async () => {
    const res = await t.request(submitPath(form.id), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.50', 'user-agent': 'Pub/2' },
      body: JSON.stringify({ email: 'public@example.com' }),
    });
    expect(res.status).toBe(201);
    // The form was created published, and the project is active.
    const listed = await get(ada, `${submissionsPath}?limit=1`);
    expect(listed.body.data[0]).toMatchObject({
      id: res.body.data.id,
      ip: '203.0.113.50',
      userAgent: 'Pub/2',
      data: { email: 'public@example.com', newsletter: false },
    });
  });
});
