/** POST /api/public/forms/{formId}/submissions over real HTTP: what a site's visitors (and bots) get. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormSubmissionSchema } from '../../entities/form.js';
import { newId } from '../../server/ids.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser } from '../support/identity.js';
import {
  createForm,
  createProject,
  formOwner,
  formsPath,
  setProjectStatus,
  submitPath,
  type Owner,
} from '../support/forms.js';

let t: TestApp;
let owner: Owner;
let projectId: string;
let form: any;
let ipCounter = 0;

beforeAll(async () => {
  t = await startTestApp({ env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '100' } });
  owner = await formOwner(t);
  projectId = await createProject(t, owner);
  form = await createForm(t, owner, projectId);
});
afterAll(async () => {
  await t?.close();
});

const em = () => t.services.orm.em.fork();
/** A fresh client address per call unless given: each test spends its own PUBLIC_FORM budget. */
const nextIp = () => `198.51.100.${++ipCounter}`;

function submit(
  formId: string,
  body: unknown,
  options: { ip?: string; headers?: Record<string, string>; raw?: string } = {},
) {
  return t.request(submitPath(formId), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-forwarded-for': options.ip ?? nextIp(),
      'user-agent': 'FormTest/1.0',
      ...options.headers,
    },
    body: options.raw ?? JSON.stringify(body),
  });
}

const stored = (formId: string) => em().find(FormSubmissionSchema, { formId }, { orderBy: { id: 'asc' } });

describe('a valid submission', () => {
  it('is stored with the address and user agent, answered 201 with its id', async () => {
    const res = await submit(
      form.id,
      { email: ' ada@example.com ', fullName: 'Ada', age: 36, plan: 'pro', newsletter: true, message: 'Hi\r\nthere' },
      { ip: '203.0.113.7' },
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      success: true,
      status: 201,
      code: 'OK',
      message: 'Submission received',
      meta: {},
    });
    expect(Object.keys(res.body.data)).toEqual(['id']);
    const row = await em().findOneOrFail(FormSubmissionSchema, { id: res.body.data.id });
    expect(row).toMatchObject({
      formId: form.id,
      projectId,
      organizationId: owner.organizationId,
      ip: '203.0.113.7',
      userAgent: 'FormTest/1.0',
      data: {
        email: 'ada@example.com',
        fullName: 'Ada',
        age: 36,
        plan: 'pro',
        newsletter: true,
        message: 'Hi\r\nthere',
      },
    });
  });

  it('fills absent optional fields with null (a checkbox with false), and truncates a long user agent', async () => {
    const res = await submit(
      form.id,
      { email: 'grace@example.com', fullName: '' },
      {
        headers: { 'user-agent': `Bot/${'x'.repeat(2000)}` },
      },
    );
    expect(res.status).toBe(201);
    const row = await em().findOneOrFail(FormSubmissionSchema, { id: res.body.data.id });
    expect(row.data).toEqual({
      email: 'grace@example.com',
      fullName: null,
      age: null,
      plan: null,
      newsletter: false,
      message: null,
    });
    expect(row.userAgent).toHaveLength(512);
  });

  it('accepts what an HTML form posts (application/x-www-form-urlencoded, strings, "on")', async () => {
    const res = await submit(form.id, undefined, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      raw: new URLSearchParams({
        email: 'form@example.com',
        age: '42.5',
        plan: 'free',
        newsletter: 'on',
        message: 'one\ntwo',
        website_url: '',
      }).toString(),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const row = await em().findOneOrFail(FormSubmissionSchema, { id: res.body.data.id });
    expect(row.data).toMatchObject({ email: 'form@example.com', age: 42.5, plan: 'free', newsletter: true });
  });
});

describe('a retried submission', () => {
  it('is stored once under one Idempotency-Key, the retry replaying the answer', async () => {
    const ip = nextIp();
    const headers = { 'idempotency-key': `retry-${ip}` };
    const first = await submit(form.id, { email: 'once@example.com' }, { ip, headers });
    const retry = await submit(form.id, { email: 'once@example.com' }, { ip, headers });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.data.id).toBe(first.body.data.id);
    expect(await em().count(FormSubmissionSchema, { formId: form.id, data: { email: 'once@example.com' } })).toBe(1);
  });
});

describe('an invalid submission', () => {
  async function refused(body: unknown, options?: Parameters<typeof submit>[2]) {
    const before = (await stored(form.id)).length;
    const res = await submit(form.id, body, options);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body).toMatchObject({ success: false, data: null });
    expect((await stored(form.id)).length).toBe(before);
    return res.body;
  }

  it('refuses an unknown field by name', async () => {
    const body = await refused({ email: 'a@example.com', admin: true });
    expect(body).toMatchObject({ code: 'VALIDATION_ERROR', message: 'Invalid admin: Unknown field' });
    expect(body.meta.errors).toEqual([{ field: 'admin', error: 'Unknown field', location: 'body' }]);
  });

  it('refuses a missing required field by name', async () => {
    const body = await refused({ fullName: 'Nobody' });
    expect(body.meta.errors).toEqual([{ field: 'email', error: 'Required', location: 'body' }]);
    const blank = await refused({ email: '   ' });
    expect(blank.meta.errors).toEqual([{ field: 'email', error: 'Required', location: 'body' }]);
  });

  it('refuses values of the wrong type, each field named', async () => {
    const body = await refused({
      email: 'not-an-email',
      fullName: 'x'.repeat(51),
      age: 'twelve',
      plan: 'gold',
      newsletter: 'maybe',
      message: { nested: true },
    });
    const byField = Object.fromEntries(body.meta.errors.map((e: any) => [e.field, e.error]));
    expect(byField).toEqual({
      email: 'Must be an email address',
      fullName: 'Must be at most 50 characters',
      age: 'Must be a number',
      plan: 'Must be one of: free, pro',
      newsletter: expect.stringMatching(/^Must be true or false/),
      message: 'Must be text',
    });
    expect(body.meta.errors.every((e: any) => e.location === 'body')).toBe(true);
  });

  it('refuses control characters in text (line breaks only in a textarea)', async () => {
    const body = await refused({ email: 'a@example.com', fullName: 'Ada\u001b[31m', message: 'ok\u0007' });
    expect(body.meta.errors.map((e: any) => e.field).sort()).toEqual(['fullName', 'message']);
    await refused({ email: 'a@example.com', fullName: 'two\nlines' });
  });

  it('answers 4xx, never 5xx, to bodies that are not an object of fields', async () => {
    for (const raw of ['[1,2,3]', '"text"', '42', 'null', '{"email":', `${'['.repeat(100)}${']'.repeat(100)}`]) {
      const res = await submit(form.id, undefined, { raw });
      expect(res.status, raw).toBeGreaterThanOrEqual(400);
      expect(res.status, raw).toBeLessThan(500);
    }
    const nul = await refused({ email: 'a\u0000@example.com' });
    expect(nul.meta.errors[0]).toMatchObject({ field: 'email', location: 'body' });
    const huge = await refused({ email: 'a@example.com', message: 'x'.repeat(2_000_000) });
    expect(huge.meta.errors).toEqual([{ field: 'message', error: 'Must be at most 200 characters', location: 'body' }]);
    const many = await refused(Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`f${i}`, 'x'])));
    expect(many.meta.errors.length).toBeLessThanOrEqual(20);
  });

  it('refuses a malformed form id in the path', async () => {
    const res = await submit('not-a-form', { email: 'a@example.com' });
    expect(res.status).toBe(400);
    expect(res.body.meta.errors).toEqual([{ field: 'formId', error: 'Must be a form id', location: 'params' }]);
  });
});

describe('the honeypot', () => {
  it('answers a filled honeypot like a success and stores nothing', async () => {
    const before = (await stored(form.id)).length;
    const res = await submit(form.id, { email: 'bot@example.com', website_url: 'http://spam.example' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ success: true, code: 'OK', message: 'Submission received' });
    expect(res.body.data.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    // Even an otherwise invalid bot submission gets the same answer.
    const invalid = await submit(form.id, { nonsense: 1, website_url: 'x' });
    expect(invalid.status).toBe(201);
    expect((await stored(form.id)).length).toBe(before);
    expect(await em().count(FormSubmissionSchema, { id: res.body.data.id })).toBe(0);
  });

  it('drops an empty honeypot before validation', async () => {
    const res = await submit(form.id, { email: 'human@example.com', website_url: '' });
    expect(res.status).toBe(201);
    const row = await em().findOneOrFail(FormSubmissionSchema, { id: res.body.data.id });
    expect(row.data).not.toHaveProperty('website_url');
  });
});

describe('which forms take submissions', () => {
  it('answers NOT_FOUND for an unknown, unpublished or deleted form, storing nothing', async () => {
    expect((await submit(newId(), { email: 'a@example.com' })).body).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
      data: null,
    });
    const draft = await createForm(t, owner, projectId, { published: false });
    expect((await submit(draft.id, { email: 'a@example.com' })).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(await stored(draft.id)).toHaveLength(0);

    const doomed = await createForm(t, owner, projectId);
    const deleted = await t.request(`${formsPath(owner, projectId)}/${doomed.id}`, {
      method: 'DELETE',
      headers: asBrowser(owner.cookie),
    });
    expect(deleted.status).toBe(200);
    expect((await submit(doomed.id, { email: 'a@example.com' })).body).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    });
  });

  it('answers PROJECT_NOT_ACTIVE for a published form of a paused or draft project', async () => {
    const paused = await createProject(t, owner);
    const pausedForm = await createForm(t, owner, paused);
    await setProjectStatus(t, owner, paused, 'paused');
    const res = await submit(pausedForm.id, { email: 'a@example.com' });
    expect(res.body).toMatchObject({ status: 403, code: 'PROJECT_NOT_ACTIVE', data: null });
    const draftProject = await createProject(t, owner, 'draft');
    const draftForm = await createForm(t, owner, draftProject);
    expect((await submit(draftForm.id, { email: 'a@example.com' })).body).toMatchObject({
      code: 'PROJECT_NOT_ACTIVE',
    });
    expect([...(await stored(pausedForm.id)), ...(await stored(draftForm.id))]).toHaveLength(0);
  });
});

describe('the PUBLIC_FORM budget', () => {
  it('refuses the 11th submission in a minute from one address to one form, not to another form', async () => {
    const other = await createForm(t, owner, projectId);
    const ip = '192.0.2.99';
    for (let i = 0; i < 10; i++) {
      const res = await submit(form.id, { email: `n${i}@example.com` }, { ip });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const refused = await submit(form.id, { email: 'eleven@example.com' }, { ip });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      code: 'RATE_LIMIT_ERROR',
      message: 'Too many requests from this IP, please try again later.',
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.body.meta.retryAfter).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(await em().count(FormSubmissionSchema, { formId: form.id, data: { email: 'eleven@example.com' } })).toBe(0);

    expect((await submit(other.id, { email: 'other@example.com' }, { ip })).status).toBe(201);
    expect((await submit(form.id, { email: 'neighbour@example.com' }, { ip: '192.0.2.100' })).status).toBe(201);
  });

  it('is spent by unknown form ids too, before any lookup', async () => {
    const ip = '192.0.2.150';
    const unknown = newId();
    for (let i = 0; i < 10; i++) expect((await submit(unknown, {}, { ip })).status).toBe(404);
    expect((await submit(unknown, {}, { ip })).status).toBe(429);
  });
});
