/** /api/user/me and its neighbours, over REST, tRPC and createCaller. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTRPCClient, httpLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberSchema, OrganizationSchema } from '../../entities/organization.js';
import { SessionSchema } from '../../entities/session.js';
import { UserSchema } from '../../entities/user.js';
import type { AppRouter } from '../../procedures/index.js';
import { callerFor, startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, ORIGIN, signUp, uniqueEmail } from '../support/identity.js';

const mailDir = mkdtempSync(path.join(os.tmpdir(), 'api-mail-'));
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '100', MAIL_DIR: mailDir, SMTP_URL: '' },
  });
});
afterAll(async () => {
  await t?.close();
  rmSync(mailDir, { recursive: true, force: true });
});

describe('GET /api/user/me', () => {
  it('gives the same account through REST, tRPC and createCaller', async () => {
    const user = await signUp(t);
    const rest = await t.request('/api/user/me', { headers: asBrowser(user.cookie) });
    const trpc = await createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${t.url}/trpc`, headers: { cookie: user.cookie, origin: ORIGIN } })],
    }).user.me.get.query();
    const direct = await callerFor(t.services, { credentials: { method: 'GET', cookie: user.cookie } }).user.me.get();
    expect(rest.body.data).toEqual(direct);
    expect(trpc).toEqual(direct);
    expect(Object.keys(direct).sort()).toEqual(
      [
        'createdAt',
        'email',
        'emailPreferences',
        'fullName',
        'id',
        'isActive',
        'isVerified',
        'lastLoginAt',
        'organizationCount',
        'role',
        'twoFactorEnabled',
        'updatedAt',
        'verifiedAt',
      ].sort(),
    );
  });

  it('signs up and in through createCaller, issuing the cookie on the context', async () => {
    const email = uniqueEmail('direct');
    const signUpCall = callerFor(t.services, { ip: '203.0.113.200' });
    const signed = await signUpCall.auth.signUpEmail({ email, password: 'a fine passphrase', name: 'Direct' });
    expect(signed.user.email).toBe(email);
    const principal = {
      kind: 'session' as const,
      userId: signed.user.id,
      email,
      emailVerified: false,
      scopes: new Set<never>(),
      sessionId: signed.session.id,
    };
    const profile = await callerFor(t.services, { principal }).user.me.get();
    expect(profile).toMatchObject({ email, fullName: 'Direct', organizationCount: 1 });
  });
});

describe('PUT /api/user/me', () => {
  it('updates the name and email preferences and refuses unknown fields', async () => {
    const user = await signUp(t);
    const res = await t.request('/api/user/me', {
      method: 'PUT',
      headers: asBrowser(user.cookie),
      body: JSON.stringify({ fullName: '  Grace Hopper ', emailPreferences: { marketingOptOut: true } }),
    });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('User updated successfully');
    expect(res.body.data).toMatchObject({ fullName: 'Grace Hopper', emailPreferences: { marketingOptOut: true } });
    const bad = await t.request('/api/user/me', {
      method: 'PUT',
      headers: asBrowser(user.cookie),
      body: JSON.stringify({ email: 'x@example.com', fullName: '' }),
    });
    expect(bad.body.code).toBe('VALIDATION_ERROR');
    expect(bad.body.meta.errors.map((e: { field: string }) => e.field).sort()).toEqual(['email', 'fullName']);
  });
});

describe('GET /api/user/me/export', () => {
  it('exports the account, sessions, memberships and history without secrets', async () => {
    const user = await signUp(t);
    const res = await t.request('/api/user/me/export', { headers: asBrowser(user.cookie) });
    expect(res.status).toBe(200);
    expect(res.body.data.user.email).toBe(user.email);
    expect(res.body.data.sessions).toHaveLength(1);
    expect(res.body.data.memberships).toEqual([expect.objectContaining({ role: 'owner' })]);
    expect(res.body.data.loginHistory).toEqual([expect.objectContaining({ outcome: 'success' })]);
    expect(JSON.stringify(res.body)).not.toMatch(/hash|token|argon2/i);
  });
});

describe('DELETE /api/user/me', () => {
  it('needs the password, then removes the user, their data and their solo organization', async () => {
    const user = await signUp(t);
    const wrong = await t.request('/api/user/me', {
      method: 'DELETE',
      headers: asBrowser(user.cookie),
      body: JSON.stringify({ password: 'not it at all' }),
    });
    expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
    const missing = await t.request('/api/user/me', { method: 'DELETE', headers: asBrowser(user.cookie) });
    expect(missing.body).toMatchObject({
      status: 403,
      code: 'REAUTHENTICATION_REQUIRED',
      meta: { accepts: ['password'] },
    });

    const em = t.services.orm.em.fork();
    const organizationId = (await em.findOneOrFail(MemberSchema, { userId: user.userId })).organizationId;
    const res = await t.request('/api/user/me', {
      method: 'DELETE',
      headers: asBrowser(user.cookie),
      body: JSON.stringify({ password: user.password }),
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ id: user.userId });
    expect(await em.count(UserSchema, { id: user.userId })).toBe(0);
    expect(await em.count(SessionSchema, { userId: user.userId })).toBe(0);
    expect(await em.count(OrganizationSchema, { id: organizationId })).toBe(0);
    expect((await t.request('/api/user/me', { headers: asBrowser(user.cookie) })).body.code).toBe(
      'INVALID_OR_EXPIRED_TOKEN',
    );
  });

  it('is blocked while the user is the only owner of an organization with other members', async () => {
    const owner = await signUp(t);
    const member = await signUp(t);
    const em = t.services.orm.em.fork();
    const organizationId = (await em.findOneOrFail(MemberSchema, { userId: owner.userId })).organizationId;
    await em.insert(MemberSchema, {
      id: '01JAAAAAAAAAAAAAAAAAAAAAAA',
      organizationId,
      userId: member.userId,
      role: 'member' as const,
      createdAt: new Date(),
    });
    const res = await t.request('/api/user/me', {
      method: 'DELETE',
      headers: asBrowser(owner.cookie),
      body: JSON.stringify({ password: owner.password }),
    });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('CONFLICT');
    expect(res.body.meta.organizations).toEqual([organizationId]);
    expect(await em.count(UserSchema, { id: owner.userId })).toBe(1);
  });

  it('refuses anything but a session', async () => {
    const res = await t.request('/api/user/me', { method: 'DELETE', headers: { 'x-api-key': 'ba_x' } });
    expect(res.status).toBe(401);
  });
});

describe('mail without SMTP_URL', () => {
  it('writes each message as an .eml file under MAIL_DIR', async () => {
    const user = await signUp(t);
    await t.services.mailer.idle();
    const files = readdirSync(mailDir).filter((f) => f.endsWith('.eml'));
    const mine = files
      .map((f) => readFileSync(path.join(mailDir, f), 'utf8'))
      .find((text) => text.includes(`To: ${user.email}`));
    expect(mine).toBeDefined();
    expect(mine).toContain('Subject: Verify your email address');
    expect(mine).toMatch(/verify-email\?token=/);
  });
});
