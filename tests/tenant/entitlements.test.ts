/**
 * The plan's limits where they bite, over HTTP: seats (members and pending invitations), projects per
 * organization, tracked events per month; each refused with 403 PLAN_LIMIT_REACHED and meta.limit,
 * meta.usage, meta.tier, nothing written. A live paid subscription raises them, a past_due one keeps
 * them for the grace period, then the free limits apply again and nothing existing goes away.
 * Small limits come from BILLING_PLANS; the subscription rows are written as the webhook would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubscriptionSchema } from '../../entities/billing.js';
import { InviteSchema } from '../../entities/invite.js';
import { MemberSchema } from '../../entities/organization.js';
import { ProjectSchema } from '../../entities/project.js';
import { createTrackingProject, storedEvents, track } from '../support/analytics.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, postJson, signUp, uniqueEmail, type SignedUp } from '../support/identity.js';
import { startInbox, type Inbox } from '../support/mail.js';
import { defaultOrganizationId } from '../support/tenancy.js';

const DAY_MS = 86_400_000;
const PLANS = JSON.stringify([
  { id: 'free', name: 'Free', maxSeats: 2, projects: 2, eventsPerMonth: 10 },
  { id: 'pro', name: 'Pro', maxSeats: 10, projects: 4, eventsPerMonth: 30 },
]);
const FREE = { tier: 'free' };

let t: TestApp;
let inbox: Inbox;
const clock = { at: Date.parse('2026-12-04T12:00:00Z'), now: () => new Date(clock.at) };

beforeAll(async () => {
  inbox = await startInbox();
  t = await startTestApp({
    env: {
      SMTP_URL: inbox.url,
      BILLING_PLANS: PLANS,
      BILLING_GRACE_DAYS: '3',
      STRIPE_SECRET_KEY: 'sk_test_x',
      RATE_LIMIT_SIGN_UP_POINTS: '1000',
      RATE_LIMIT_EMAIL_SEND_POINTS: '1000',
      RATE_LIMIT_GLOBAL_POINTS: '100000',
    },
    now: clock.now,
  });
});
afterAll(async () => {
  await t?.close();
  await inbox?.close();
});

const db = () => t.services.orm.em.fork();
type Owner = SignedUp & { organizationId: string };

async function owner(): Promise<Owner> {
  const user = await signUp(t, { email: uniqueEmail('owner') });
  return { ...user, organizationId: await defaultOrganizationId(t, user.userId) };
}

const invite = (o: Owner, email = uniqueEmail('invitee')) =>
  postJson(t, `/api/user/organizations/${o.organizationId}/invites`, { email, role: 'member' }, o.cookie);
const createProject = (o: Owner) =>
  postJson(t, `/api/user/organizations/${o.organizationId}/projects`, { name: 'Site', status: 'active' }, o.cookie);
const events = (n: number) => ({
  events: Array.from({ length: n }, (_, i) => ({ name: 'view', anonymousId: `v${i}` })),
});

async function subscribe(o: Owner, fields: { status: string; seats?: number; pastDueSince?: Date | null }) {
  const now = clock.now();
  await db().upsert(SubscriptionSchema, {
    organizationId: o.organizationId,
    stripeSubscriptionId: `sub_${o.organizationId}`,
    tier: 'pro',
    interval: 'month',
    seats: fields.seats ?? 5,
    status: fields.status,
    currentPeriodEnd: new Date(now.getTime() + 30 * DAY_MS),
    cancelAtPeriodEnd: false,
    pastDueSince: fields.pastDueSince ?? null,
    stripeUpdatedAt: now,
    updatedAt: now,
  });
}

function expectLimit(res: { status: number; body: any }, meta: { limit: number; usage: number; tier: string }) {
  expect(res.status).toBe(403);
  expect(res.body).toMatchObject({ success: false, code: 'PLAN_LIMIT_REACHED', data: null, meta });
}

async function acceptAs(email: string) {
  const user = await signUp(t, { email });
  const token = await inbox.tokenFor(email, /invited to join/);
  return postJson(t, `/api/user/invites/${encodeURIComponent(token)}/accept`, {}, user.cookie);
}

describe('seats: members and pending invitations', () => {
  it('the free tier refuses an invitation beyond its seats, and the pending one reserves its seat', async () => {
    const o = await owner();
    expect((await invite(o)).status).toBe(201);
    const refused = await invite(o);
    expectLimit(refused, { limit: 2, usage: 2, ...FREE });
    expect(refused.body.message).toMatch(/Free plan allows 2 seats/);
    expect(await db().count(InviteSchema, { organizationId: o.organizationId })).toBe(1);
  });

  it('a paid subscription raises the seats to those bought; past_due keeps them for the grace period only', async () => {
    const o = await owner();
    await subscribe(o, { status: 'active', seats: 4 });
    for (let i = 0; i < 3; i++) expect((await invite(o)).status).toBe(201);
    expectLimit(await invite(o), { limit: 4, usage: 4, tier: 'pro' });

    await subscribe(o, { status: 'past_due', seats: 5, pastDueSince: new Date(clock.at - 2 * DAY_MS) });
    expect((await invite(o)).status).toBe(201);
    await subscribe(o, { status: 'past_due', seats: 5, pastDueSince: new Date(clock.at - 4 * DAY_MS) });
    expectLimit(await invite(o), { limit: 2, usage: 5, tier: 'free' });
    // Nothing reserved went away.
    expect(await db().count(InviteSchema, { organizationId: o.organizationId, status: 'pending' })).toBe(4);
  });

  it('after a downgrade, invitations already sent are accepted while the members fit, then refused and left pending', async () => {
    const o = await owner();
    await subscribe(o, { status: 'active', seats: 4 });
    const emails = [uniqueEmail('a'), uniqueEmail('b')];
    for (const email of emails) expect((await invite(o, email)).status).toBe(201);
    await subscribe(o, { status: 'canceled', seats: 4 });

    expect((await acceptAs(emails[0]!)).status).toBe(201);
    expectLimit(await acceptAs(emails[1]!), { limit: 2, usage: 2, ...FREE });
    expect(await db().count(MemberSchema, { organizationId: o.organizationId })).toBe(2);
    expect(await db().count(InviteSchema, { organizationId: o.organizationId, status: 'pending' })).toBe(1);
  });

  it('an expired invitation frees its seat, and resending it needs a free seat again', async () => {
    const o = await owner();
    const first = await invite(o);
    expect(first.status).toBe(201);
    // Expired by its date (the session would not survive a clock moved past the invitation's 7 days).
    await db().nativeUpdate(InviteSchema, { id: first.body.data.id }, { expiresAt: new Date(clock.at - 1000) });
    expect((await invite(o)).status).toBe(201);
    const resent = await postJson(
      t,
      `/api/user/organizations/${o.organizationId}/invites/${first.body.data.id}/resend`,
      {},
      o.cookie,
    );
    expectLimit(resent, { limit: 2, usage: 2, ...FREE });
  });

  it('of five concurrent invitations for the last seat, exactly one is sent', async () => {
    const o = await owner();
    const answers = await Promise.all(Array.from({ length: 5 }, () => invite(o)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 403, 403, 403, 403]);
    for (const refused of answers.filter((a) => a.status === 403)) {
      expectLimit(refused, { limit: 2, usage: 2, ...FREE });
    }
    expect(await db().count(InviteSchema, { organizationId: o.organizationId })).toBe(1);
  });
});

describe('projects per organization', () => {
  it('the free tier refuses the project beyond its limit; pro raises it; after grace nothing is deleted', async () => {
    const o = await owner();
    for (let i = 0; i < 2; i++) expect((await createProject(o)).status).toBe(201);
    expectLimit(await createProject(o), { limit: 2, usage: 2, ...FREE });
    expect(await db().count(ProjectSchema, { organizationId: o.organizationId })).toBe(2);

    await subscribe(o, { status: 'active' });
    expect((await createProject(o)).status).toBe(201);
    await subscribe(o, { status: 'past_due', pastDueSince: new Date(clock.at - DAY_MS) });
    expect((await createProject(o)).status).toBe(201);
    expectLimit(await createProject(o), { limit: 4, usage: 4, tier: 'pro' });

    clock.at += 3 * DAY_MS;
    try {
      expectLimit(await createProject(o), { limit: 2, usage: 4, ...FREE });
      const listed = await t.request(`/api/user/organizations/${o.organizationId}/projects`, {
        headers: asBrowser(o.cookie),
      });
      expect(listed.body.meta.total).toBe(4);
    } finally {
      clock.at -= 3 * DAY_MS;
    }
  });

  it('of three concurrent creations for the last project, exactly one succeeds', async () => {
    const o = await owner();
    expect((await createProject(o)).status).toBe(201);
    const answers = await Promise.all(Array.from({ length: 3 }, () => createProject(o)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 403, 403]);
    expect(await db().count(ProjectSchema, { organizationId: o.organizationId })).toBe(2);
  });
});

describe('tracked events per month', () => {
  it('the free tier refuses a batch that would pass the allowance, whole; the projects of an organization share it', async () => {
    const first = await createTrackingProject(t);
    const o = { ...first.owner, organizationId: first.organizationId };
    const second = await createTrackingProject(t, { owner: first.owner });
    expect((await track(t, first.publishableKey, events(6))).status).toBe(202);
    const refused = await track(t, second.publishableKey, events(5));
    expectLimit(refused, { limit: 10, usage: 6, ...FREE });
    expect(refused.body.message).toMatch(/10 tracked events a month/);
    expect(await storedEvents(t, second.projectId)).toBe(0);
    expect((await track(t, second.publishableKey, events(4))).status).toBe(202);
    expectLimit(await track(t, first.publishableKey, events(1)), { limit: 10, usage: 10, ...FREE });

    // Deleting a project gives nothing back: the allowance counts events tracked, not kept.
    const deleted = await t.request(`${second.path}`, { method: 'DELETE', headers: asBrowser(o.cookie) });
    expect(deleted.status).toBe(200);
    expectLimit(await track(t, first.publishableKey, events(1)), { limit: 10, usage: 10, ...FREE });

    await subscribe(o, { status: 'trialing' });
    expect((await track(t, first.publishableKey, events(20))).status).toBe(202);
    expectLimit(await track(t, first.publishableKey, events(1)), { limit: 30, usage: 30, tier: 'pro' });
    expect(await storedEvents(t, first.projectId)).toBe(26);
  });

  it('a new calendar month (UTC) starts a new allowance; an expired grace falls back to free', async () => {
    const project = await createTrackingProject(t);
    const o = { ...project.owner, organizationId: project.organizationId };
    await subscribe(o, { status: 'past_due', pastDueSince: new Date(clock.at - DAY_MS) });
    expect((await track(t, project.publishableKey, events(12))).status).toBe(202);

    const saved = clock.at;
    clock.at = Date.parse('2027-01-01T00:00:00Z');
    try {
      // Past the grace period: the free allowance of 10.
      expectLimit(await track(t, project.publishableKey, events(11)), { limit: 10, usage: 0, ...FREE });
      expect((await track(t, project.publishableKey, events(10))).status).toBe(202);
      expect(await storedEvents(t, project.projectId)).toBe(22);
    } finally {
      clock.at = saved;
    }
  });
});

describe('billing not configured', () => {
  it('every organization is on the free tier, whatever its stored subscription says', async () => {
    const plain = await startTestApp({ env: { BILLING_PLANS: PLANS }, databaseUrl: t.services.config.databaseUrl });
    try {
      const o = await owner();
      await subscribe(o, { status: 'active', seats: 8 });
      expect((await createProject(o)).status).toBe(201);
      expect((await createProject(o)).status).toBe(201);
      const refused = await postJson(
        plain,
        `/api/user/organizations/${o.organizationId}/projects`,
        { name: 'Site', status: 'active' },
        o.cookie,
      );
      expectLimit(refused, { limit: 2, usage: 2, ...FREE });
      expect((await createProject(o)).status).toBe(201);
    } finally {
      await plain.close();
    }
  });
});

describe('the OpenAPI document', () => {
  it('lists PLAN_LIMIT_REACHED on the routes that answer it', async () => {
    const doc = (await t.request('/api/openapi.json')).body;
    const responses = (path: string, method: string) => JSON.stringify(doc.paths[path][method].responses);
    expect(responses('/user/organizations/{organizationId}/invites', 'post')).toContain('PLAN_LIMIT_REACHED');
    expect(responses('/user/organizations/{organizationId}/projects', 'post')).toContain('PLAN_LIMIT_REACHED');
    expect(responses('/user/invites/{token}/accept', 'post')).toContain('PLAN_LIMIT_REACHED');
    expect(responses('/public/track', 'post')).toContain('PLAN_LIMIT_REACHED');
  });
});
