/** POST /api/public/track over REST: what is stored, what is refused (and then nothing is stored), budgets and origins. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTrackingProject, storedEvents, track, type TrackingProject } from '../support/analytics.js';
import { asBrowser } from '../support/identity.js';

let t: TestApp;
let site: TrackingProject;
beforeAll(async () => {
  t = await startTestApp({
    env: {
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      RATE_LIMIT_GLOBAL_POINTS: '100000',
      RATE_LIMIT_PUBLIC_TRACK_POINTS: '1000',
    },
  });
  site = await createTrackingProject(t);
});
afterAll(async () => {
  await t?.close();
});

const event = (extra: Record<string, unknown> = {}) => ({ name: 'page_view', anonymousId: 'visitor-1', ...extra });
const batch = (n: number, extra: Record<string, unknown> = {}) => ({
  events: Array.from({ length: n }, (_, i) => event({ anonymousId: `v${i}`, ...extra })),
});
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('ingest', () => {
  it('stores a batch in one go and answers 202 {accepted}', async () => {
    const own = await createTrackingProject(t);
    const at = iso(-HOUR);
    const res = await track(t, own.publishableKey, {
      events: [
        event({ timestamp: at, properties: { path: '/pricing', referrer: null, scroll: 0.5, logged: false } }),
        event({ name: 'signup', anonymousId: 'visitor-2' }),
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ success: true, status: 202, data: { accepted: 2 } });
    const rows = await t.services.orm.em
      .fork()
      .getConnection()
      .execute<{ occurred_at: string }[]>(
        'select organization_id, name, anonymous_id, occurred_at, properties from events where project_id = ? order by name',
        [own.projectId],
      );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      organization_id: own.organizationId,
      name: 'page_view',
      anonymous_id: 'visitor-1',
      properties: { path: '/pricing', referrer: null, scroll: 0.5, logged: false },
    });
    expect(new Date(rows[0]!.occurred_at).toISOString()).toBe(at);
    expect(rows[1]).toMatchObject({ name: 'signup', properties: null });
    // No timestamp: the service's time.
    expect(Math.abs(new Date(rows[1]!.occurred_at).getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('takes 500 events with 8 KB of properties each', async () => {
    const own = await createTrackingProject(t);
    const properties = { blob: 'x'.repeat(8192 - '{"blob":""}'.length) };
    const res = await track(t, own.publishableKey, batch(500, { properties }));
    expect(res.status).toBe(202);
    expect(res.body.data.accepted).toBe(500);
    expect(await storedEvents(t, own.projectId)).toBe(500);
  });

  it('loses no event under concurrent ingestion: 40 parallel batches of 50', async () => {
    const own = await createTrackingProject(t);
    const answers = await Promise.all(Array.from({ length: 40 }, () => track(t, own.publishableKey, batch(50))));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(202));
    expect(answers.reduce((sum, a) => sum + a.body.data.accepted, 0)).toBe(2000);
    expect(await storedEvents(t, own.projectId)).toBe(2000);
  });
});

describe('bad input: a clear 4xx and nothing stored', () => {
  const refusals: [label: string, body: unknown, fields: string[]][] = [
    ['no events', { events: [] }, ['events']],
    ['501 events', batch(501), ['events']],
    ['no body', {}, ['events']],
    ['an array body', [event()], ['events']],
    ['events not an array', { events: event() }, ['events']],
    ['an unknown field', { events: [event({ userId: 'x' })] }, ['events.0.userId']],
    ['a missing name', { events: [{ anonymousId: 'v' }] }, ['events.0.name']],
    ['an empty name', { events: [event({ name: '' })] }, ['events.0.name']],
    ['a name of 101 characters', { events: [event(), event({ name: 'n'.repeat(101) })] }, ['events.1.name']],
    [
      'an anonymousId of 129 characters',
      { events: [event({ anonymousId: 'a'.repeat(129) })] },
      ['events.0.anonymousId'],
    ],
    ['a number as name', { events: [event({ name: 42 })] }, ['events.0.name']],
    ['properties a string', { events: [event({ properties: 'x' })] }, ['events.0.properties']],
    ['properties an array', { events: [event({ properties: [1, 2] })] }, ['events.0.properties']],
    ['properties null', { events: [event({ properties: null })] }, ['events.0.properties']],
    ['nested properties', { events: [event({ properties: { a: { b: 1 } } })] }, ['events.0.properties.a']],
    ['an array property', { events: [event({ properties: { a: [1] } })] }, ['events.0.properties.a']],
    ['properties over 8 KB', { events: [event({ properties: { blob: 'x'.repeat(8192) } })] }, ['events.0.properties']],
    ['a timestamp that is not a date', { events: [event({ timestamp: 'yesterday' })] }, ['events.0.timestamp']],
    ['a timestamp without a zone', { events: [event({ timestamp: '2026-12-03T10:00:00' })] }, ['events.0.timestamp']],
    ['a number as timestamp', { events: [event({ timestamp: 1764756000000 })] }, ['events.0.timestamp']],
  ];

  it.each(refusals)('%s: 400 VALIDATION_ERROR naming the field', async (_label, body, fields) => {
    const res = await track(t, site.publishableKey, body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    expect(res.body.meta.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(fields));
    expect(await storedEvents(t, site.projectId)).toBe(0);
  });

  it('names each event whose timestamp is outside [now − 90 days, now + 24 h] by its index', async () => {
    const res = await track(t, site.publishableKey, {
      events: [
        event({ timestamp: iso(-89 * DAY) }),
        event({ timestamp: iso(-91 * DAY) }),
        event({ timestamp: iso(23 * HOUR) }),
        event({ timestamp: iso(25 * HOUR) }),
        event(),
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    expect(res.body.meta.errors.map((e: { field: string }) => e.field)).toEqual([
      'events.1.timestamp',
      'events.3.timestamp',
    ]);
    expect(await storedEvents(t, site.projectId)).toBe(0);
  });

  it('refuses NUL bytes in names, ids, property keys and values', async () => {
    for (const bad of [
      event({ name: 'a\u0000b' }),
      event({ anonymousId: '\u0000' }),
      event({ properties: { 'k\u0000': 1 } }),
      event({ properties: { k: 'v\u0000' } }),
    ]) {
      const res = await track(t, site.publishableKey, { events: [event(), bad] });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_ERROR');
    }
    expect(await storedEvents(t, site.projectId)).toBe(0);
  });

  it('refuses a body that is not JSON, and one over 10 MiB', async () => {
    const broken = await track(t, site.publishableKey, '{"events": [');
    expect(broken.status).toBe(400);
    expect(broken.body.code).toBe('BAD_REQUEST');
    const huge = await track(
      t,
      site.publishableKey,
      JSON.stringify({ events: [event({ name: 'x'.repeat(11 * 1024 * 1024) })] }),
    );
    expect(huge.status).toBe(400);
    expect(huge.body.code).toBe('PAYLOAD_TOO_LARGE');
    const deep = await track(
      t,
      site.publishableKey,
      `{"events":[{"name":"a","anonymousId":"b","properties":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}]}`,
    );
    expect(deep.status).toBe(400);
    expect(await storedEvents(t, site.projectId)).toBe(0);
  });
});

describe('the publishable key', () => {
  it('is required: 401 INVALID_API_KEY naming the header', async () => {
    const res = await track(t, undefined, batch(1));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('INVALID_API_KEY');
    expect(res.body.meta.header).toBe('X-Publishable-Key');
  });

  it.each([
    ['an empty key', ''],
    ['a secret key', 'sk_live_0123456789abcdefghijklmnopqrstuv'],
    ['a short key', 'pk_abc'],
    ['a key one character long', `${'pk_'}${'a'.repeat(33)}`],
    ['a key with a bad character', `pk_${'a'.repeat(31)}!`],
    ['a key in another case', `PK_${'a'.repeat(32)}`],
  ])('%s is malformed: 401 INVALID_API_KEY', async (_label, key) => {
    const res = await track(t, key, batch(1));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('INVALID_API_KEY');
  });

  it('of no project, of a deleted project, of a draft or paused one: 403 PROJECT_NOT_ACTIVE, nothing stored', async () => {
    const unknown = await track(t, `pk_${'A'.repeat(32)}`, batch(1));
    expect(unknown.status).toBe(403);
    expect(unknown.body.code).toBe('PROJECT_NOT_ACTIVE');

    const draft = await createTrackingProject(t, { status: 'draft' });
    const paused = await createTrackingProject(t, { status: 'paused' });
    for (const p of [draft, paused]) {
      const res = await track(t, p.publishableKey, batch(1));
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('PROJECT_NOT_ACTIVE');
      expect(await storedEvents(t, p.projectId)).toBe(0);
    }

    const deleted = await createTrackingProject(t);
    expect((await track(t, deleted.publishableKey, batch(1))).status).toBe(202);
    const removal = await t.request(deleted.path, { method: 'DELETE', headers: asBrowser(deleted.owner.cookie) });
    expect(removal.status).toBe(200);
    const after = await track(t, deleted.publishableKey, batch(1));
    expect(after.status).toBe(403);
    expect(after.body.code).toBe('PROJECT_NOT_ACTIVE');
    expect(await storedEvents(t, deleted.projectId)).toBe(0);
  });

  it('stops working the moment its project is paused', async () => {
    const own = await createTrackingProject(t);
    expect((await track(t, own.publishableKey, batch(1))).status).toBe(202);
    const paused = await t.request(own.path, {
      method: 'PUT',
      headers: asBrowser(own.owner.cookie),
      body: JSON.stringify({ status: 'paused' }),
    });
    expect(paused.status).toBe(200);
    expect((await track(t, own.publishableKey, batch(1))).body.code).toBe('PROJECT_NOT_ACTIVE');
  });
});

describe('allowed origins', () => {
  it('accepts the listed origins and calls without Origin; refuses other origins with 403 FORBIDDEN', async () => {
    const own = await createTrackingProject(t, {
      allowedOrigins: ['https://Shop.Example.com:443/', 'http://localhost:8080'],
    });
    const listed = await t.request(own.path, { headers: asBrowser(own.owner.cookie) });
    expect(listed.body.data.allowedOrigins).toEqual(['https://shop.example.com', 'http://localhost:8080']);

    const allowed = await track(t, own.publishableKey, batch(2), { origin: 'https://shop.example.com' });
    expect(allowed.status).toBe(202);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('*');
    const server = await track(t, own.publishableKey, batch(3));
    expect(server.status).toBe(202);
    for (const origin of ['https://evil.example.com', 'http://shop.example.com', 'null']) {
      const refused = await track(t, own.publishableKey, batch(1), { origin });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('FORBIDDEN');
      expect(refused.body.meta.reason).toBe('origin-not-allowed');
    }
    expect(await storedEvents(t, own.projectId)).toBe(5);

    // No allowed origins: any origin.
    const open = await track(t, site.publishableKey, batch(1), { origin: 'https://anywhere.example' });
    expect(open.status).toBe(202);
    await t.services.orm.em.fork().getConnection().execute('delete from events where project_id = ?', [site.projectId]);
  });

  it('are validated on the project: origins only, at most 20', async () => {
    const owner = site.owner;
    const path = `/api/user/organizations/${site.organizationId}/projects/${site.projectId}`;
    for (const [origins, field] of [
      [['ftp://example.com'], 'allowedOrigins.0'],
      [['https://example.com/path'], 'allowedOrigins.0'],
      [['https://user@example.com'], 'allowedOrigins.0'],
      [['example.com'], 'allowedOrigins.0'],
      [Array.from({ length: 21 }, (_, i) => `https://s${i}.example.com`), 'allowedOrigins'],
    ] as const) {
      const res = await t.request(path, {
        method: 'PUT',
        headers: asBrowser(owner.cookie),
        body: JSON.stringify({ allowedOrigins: origins }),
      });
      expect(res.status).toBe(400);
      expect(res.body.meta.errors[0].field).toBe(field);
    }
    const cleared = await t.request(path, {
      method: 'PUT',
      headers: asBrowser(owner.cookie),
      body: JSON.stringify({ allowedOrigins: ['https://a.example', 'https://a.example'] }),
    });
    expect(cleared.body.data.allowedOrigins).toEqual(['https://a.example']);
    await t.request(path, {
      method: 'PUT',
      headers: asBrowser(owner.cookie),
      body: JSON.stringify({ allowedOrigins: [] }),
    });
  });
});

describe('the PUBLIC_TRACK budget', () => {
  it('is per key: the key past its budget gets 429 with Retry-After, nothing stored; another key still tracks', async () => {
    const small = await startTestApp({
      env: {
        RATE_LIMIT_SIGN_UP_POINTS: '100',
        RATE_LIMIT_GLOBAL_POINTS: '100000',
        RATE_LIMIT_PUBLIC_TRACK_POINTS: '3',
      },
    });
    try {
      const [a, b] = [await createTrackingProject(small), await createTrackingProject(small)];
      for (let i = 0; i < 3; i++) expect((await track(small, a.publishableKey, batch(10))).status).toBe(202);
      const spent = await track(small, a.publishableKey, batch(10));
      expect(spent.status).toBe(429);
      expect(spent.body.code).toBe('RATE_LIMIT_ERROR');
      expect(Number(spent.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await storedEvents(small, a.projectId)).toBe(30);
      expect((await track(small, b.publishableKey, batch(1))).status).toBe(202);
    } finally {
      await small.close();
    }
  });
});
