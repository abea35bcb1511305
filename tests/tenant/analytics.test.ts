/** A project's tracked events and stats over REST: paging, filters, zero-filled buckets, validation, scopes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollUpEvents } from '../../server/event-rollups.js';
import { createTrackingProject, getAs, track, type TrackingProject } from '../support/analytics.js';
import { createApiKey } from '../support/api-keys.js';
import { startTestApp, type TestApp } from '../support/app.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// A fixed clock: the 10th of a month, 10:30 UTC.
const NOW = Date.parse('2027-05-10T10:30:00Z');
const TODAY = Date.parse('2027-05-10T00:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();

let t: TestApp;
let site: TrackingProject;
beforeAll(async () => {
  t = await startTestApp({
    env: { RATE_LIMIT_SIGN_UP_POINTS: '100', RATE_LIMIT_GLOBAL_POINTS: '100000' },
    now: () => new Date(NOW),
  });
  site = await createTrackingProject(t);
  const events = [
    { name: 'page_view', anonymousId: 'a', timestamp: at(TODAY - 2 * DAY + 5 * HOUR) },
    { name: 'page_view', anonymousId: 'b', timestamp: at(TODAY - 2 * DAY + 5 * HOUR + 60_000) },
    { name: 'page_view', anonymousId: 'a', timestamp: at(TODAY - 2 * DAY + 7 * HOUR) },
    { name: 'signup', anonymousId: 'a', timestamp: at(TODAY - 2 * DAY + 7 * HOUR + 1000), properties: { plan: 'pro' } },
    { name: 'page_view', anonymousId: 'c', timestamp: at(TODAY + 9 * HOUR) },
    { name: 'page_view', anonymousId: 'c', timestamp: at(TODAY + 10 * HOUR) },
    { name: 'click', anonymousId: 'd', timestamp: at(TODAY + 10 * HOUR + 5 * 60_000) },
  ];
  expect((await track(t, site.publishableKey, { events })).status).toBe(202);
});
afterAll(async () => {
  await t?.close();
});

const stats = (query: string, project = site) => getAs(t, project.owner, `${project.path}/stats${query}`);
const events = (query: string, project = site) => getAs(t, project.owner, `${project.path}/events${query}`);

describe('GET …/projects/{projectId}/events', () => {
  it('lists newest first with every field, paged', async () => {
    const res = await events('?limit=2');
    expect(res.status).toBe(200);
    expect(res.body.meta).toMatchObject({ total: 7, offset: 0, limit: 2, hasMore: true });
    expect(res.body.data.map((e: { name: string }) => e.name)).toEqual(['click', 'page_view']);
    expect(res.body.data[0]).toEqual({
      id: expect.any(String),
      name: 'click',
      anonymousId: 'd',
      timestamp: at(TODAY + 10 * HOUR + 5 * 60_000),
      receivedAt: expect.any(String),
      properties: null,
    });
    const last = await events('?offset=6&limit=2');
    expect(last.body.meta).toMatchObject({ total: 7, hasMore: false });
    expect(last.body.data).toHaveLength(1);
  });

  it('filters by name, anonymousId, from and to', async () => {
    const signups = await events('?name=signup');
    expect(signups.body.data).toHaveLength(1);
    expect(signups.body.data[0].properties).toEqual({ plan: 'pro' });
    expect((await events('?anonymousId=a')).body.meta.total).toBe(3);
    expect((await events(`?from=${at(TODAY)}&to=${at(TODAY + 10 * HOUR)}`)).body.meta.total).toBe(1);
    expect((await events(`?name=page_view&anonymousId=c&from=${at(TODAY)}`)).body.meta.total).toBe(2);
    // `to` alone: the 30 days before it.
    expect((await events(`?to=${at(TODAY - DAY)}`)).body.meta.total).toBe(4);
  });

  it('refuses bad filters with VALIDATION_ERROR naming the field', async () => {
    for (const [query, field] of [
      [`?from=${at(TODAY)}&to=${at(TODAY - DAY)}`, 'to'],
      ['?from=yesterday', 'from'],
      ['?offset=10000', 'offset'],
      ['?limit=101', 'limit'],
      [`?name=${'n'.repeat(101)}`, 'name'],
    ]) {
      const res = await events(query!);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_ERROR');
      expect(res.body.meta.errors[0]).toMatchObject({ field, location: 'query' });
    }
  });
});

describe('GET …/projects/{projectId}/stats', () => {
  it('counts per day, zero-filled, over the last 30 days by default, rollups or not', async () => {
    for (const rolled of [false, true]) {
      if (rolled) await rollUpEvents(t.services.orm.em.fork(), new Date(NOW));
      const res = await stats('');
      expect(res.status).toBe(200);
      const data = res.body.data;
      expect(data.interval).toBe('day');
      expect(data.to).toBe(at(TODAY + DAY));
      expect(data.from).toBe(at(TODAY - 29 * DAY));
      expect(data.buckets).toHaveLength(30);
      const nonZero = data.buckets.filter((b: { events: number }) => b.events > 0);
      expect(nonZero).toEqual([
        { start: at(TODAY - 2 * DAY), events: 4, uniqueVisitors: 2 },
        { start: at(TODAY), events: 3, uniqueVisitors: 2 },
      ]);
      expect(data.totals).toEqual({ events: 7, eventNames: 3 });
      expect(data.topEvents).toEqual([
        { name: 'page_view', events: 5 },
        { name: 'click', events: 1 },
        { name: 'signup', events: 1 },
      ]);
    }
  });

  it('counts per hour, rounding from down and to up to whole hours', async () => {
    const res = await stats(`?interval=hour&from=${at(TODAY + 8 * HOUR + 1)}&to=${at(TODAY + 10 * HOUR + 1)}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ interval: 'hour', from: at(TODAY + 8 * HOUR), to: at(TODAY + 11 * HOUR) });
    expect(res.body.data.buckets).toEqual([
      { start: at(TODAY + 8 * HOUR), events: 0, uniqueVisitors: 0 },
      { start: at(TODAY + 9 * HOUR), events: 1, uniqueVisitors: 1 },
      { start: at(TODAY + 10 * HOUR), events: 2, uniqueVisitors: 2 },
    ]);
    const fallback = await stats('?interval=hour');
    expect(fallback.body.data.buckets).toHaveLength(24);
  });

  it('refuses bad ranges with VALIDATION_ERROR naming the field', async () => {
    for (const [query, field] of [
      ['?interval=week', 'interval'],
      [`?from=${at(TODAY)}&to=${at(TODAY)}`, 'to'],
      [`?from=${at(TODAY)}&to=${at(TODAY - DAY)}`, 'to'],
      ['?to=not-a-date', 'to'],
      [`?interval=hour&from=${at(TODAY - 32 * DAY)}&to=${at(TODAY)}`, 'to'],
      [`?interval=day&from=${at(TODAY - 401 * DAY)}&to=${at(TODAY)}`, 'to'],
    ]) {
      const res = await stats(query!);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('VALIDATION_ERROR');
      expect(res.body.meta.errors[0]).toMatchObject({ field, location: 'query' });
    }
    expect((await stats(`?interval=hour&from=${at(TODAY - 31 * DAY)}&to=${at(TODAY)}`)).status).toBe(200);
    expect((await stats(`?from=${at(TODAY - 400 * DAY)}&to=${at(TODAY)}`)).status).toBe(200);
  });

  it('needs analytics:read on a token, and answers only for the organization’s own projects', async () => {
    const withScope = await createApiKey(t, { userId: site.owner.userId, scopes: ['analytics:read'] });
    const without = await createApiKey(t, { userId: site.owner.userId, scopes: ['projects:read'] });
    const ok = await t.request(`${site.path}/stats`, { headers: { 'x-api-key': withScope } });
    expect(ok.status).toBe(200);
    const refused = await t.request(`${site.path}/events`, { headers: { 'x-api-key': without } });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('API_KEY_MISSING_SCOPES');
    const other = await createTrackingProject(t);
    const crossed = await getAs(
      t,
      site.owner,
      `/api/user/organizations/${site.organizationId}/projects/${other.projectId}/stats`,
    );
    expect(crossed.status).toBe(403);
    expect(crossed.body.code).toBe('TENANT_VIOLATION');
  });
});
