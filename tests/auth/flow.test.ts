/** The identity flow end to end over REST, with mail received by a real SMTP server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, ORIGIN, PASSWORD, postJson, sessionCookieFrom, uniqueEmail } from '../support/identity.js';
import { startInbox, type Inbox } from '../support/mail.js';

let t: TestApp;
let inbox: Inbox;
beforeAll(async () => {
  inbox = await startInbox();
  t = await startTestApp({ env: { SMTP_URL: inbox.url, TRUST_PROXY: 'loopback' } });
});
afterAll(async () => {
  await t?.close();
  await inbox?.close();
});

const me = (cookie: string) => t.request('/api/user/me', { headers: asBrowser(cookie) });

describe('email and password accounts', () => {
  const email = uniqueEmail('flow');
  let first: string;

  it('signs up: 201, a session cookie with the right flags, a default organization, a verification email', async () => {
    const res = await postJson(t, '/api/auth/sign-up/email', {
      email: email.toUpperCase(),
      password: PASSWORD,
      name: 'Ada Lovelace',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      success: true,
      code: 'OK',
      message: 'Account created successfully',
      data: { user: { email, fullName: 'Ada Lovelace', isVerified: false } },
    });
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('session='))!;
    expect(setCookie).toMatch(/^session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=2592000; HttpOnly; Secure; SameSite=Lax$/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    first = sessionCookieFrom(res.headers)!;

    const profile = await me(first);
    expect(profile.status).toBe(200);
    expect(profile.body.message).toBe('User fetched successfully');
    expect(profile.body.data).toMatchObject({
      email,
      isVerified: false,
      verifiedAt: null,
      isActive: true,
      organizationCount: 1,
      twoFactorEnabled: false,
      role: 'user',
      emailPreferences: { marketingOptOut: false },
    });
    expect(JSON.stringify(profile.body)).not.toMatch(/hash/i);

    const mail = await inbox.waitFor(email, /Verify/);
    expect(mail.text).toContain('/verify-email?token=');
    expect(mail.html).toContain('/verify-email?token=');
  });

  it('refuses the same email twice, whatever its case', async () => {
    const res = await postJson(
      t,
      '/api/auth/sign-up/email',
      { email: ` ${email.replace('flow', 'FLOW')} `, password: PASSWORD, name: 'Again' },
      undefined,
      { 'x-forwarded-for': '198.51.100.10' },
    );
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('CONFLICT');
  });

  it('verifies the email with the token from the mail, once', async () => {
    const token = await inbox.tokenFor(email, /Verify/);
    const res = await postJson(t, '/api/auth/verify-email', { token });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ email, isVerified: true });
    expect((await me(first)).body.data.isVerified).toBe(true);
    const again = await postJson(t, '/api/auth/verify-email', { token });
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('signs out: the session dies and the cookie is cleared', async () => {
    const res = await postJson(t, '/api/auth/sign-out', {}, first);
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('session=;') && c.includes('Max-Age=0'))).toBe(true);
    const after = await me(first);
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    const session = await t.request('/api/auth/session', { headers: asBrowser(first) });
    expect(session.body.data).toBeNull();
  });

  let second: string;
  let third: string;
  it('signs in, and rejects a wrong password with INVALID_CREDENTIALS', async () => {
    const wrong = await postJson(t, '/api/auth/sign-in/email', { email, password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ code: 'INVALID_CREDENTIALS', message: 'Invalid email or password' });
    const unknown = await postJson(t, '/api/auth/sign-in/email', {
      email: uniqueEmail('nobody'),
      password: 'not the password',
    });
    expect(unknown.body).toMatchObject({
      status: 401,
      code: 'INVALID_CREDENTIALS',
      message: 'Invalid email or password',
    });

    const res = await postJson(t, '/api/auth/sign-in/email', { email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('Signed in successfully');
    second = sessionCookieFrom(res.headers)!;
    const other = await postJson(t, '/api/auth/sign-in/email', { email, password: PASSWORD }, undefined, {
      'x-forwarded-for': '198.51.100.20',
    });
    third = sessionCookieFrom(other.headers)!;
    expect(second).not.toBe(third);
    const session = await t.request('/api/auth/session', { headers: asBrowser(second) });
    expect(session.body.data).toMatchObject({
      user: { email, isVerified: true },
      session: { id: res.body.data.session.id },
    });

    const sessions = await t.request('/api/auth/sessions', { headers: asBrowser(second) });
    expect(sessions.body.meta).toMatchObject({ total: 2, offset: 0, limit: 20, hasMore: false });
    expect(sessions.body.data.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    // Each session says how it was made and when its user last proved themselves.
    for (const listed of sessions.body.data) {
      expect(listed.authMethods).toEqual(['pwd']);
      expect(Date.parse(listed.strongAuthAt)).toBe(Date.parse(listed.createdAt));
    }
    expect(JSON.stringify(sessions.body)).not.toMatch(/token/i);
  });

  it('changes the password with the current one; the other sessions die, this one lives', async () => {
    const wrong = await postJson(
      t,
      '/api/auth/change-password',
      { currentPassword: 'nope-nope-nope', newPassword: 'a brand new passphrase' },
      second,
    );
    expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
    const common = await postJson(
      t,
      '/api/auth/change-password',
      { currentPassword: PASSWORD, newPassword: 'password123' },
      second,
    );
    expect(common.body.code).toBe('VALIDATION_ERROR');
    expect(common.body.meta.errors).toEqual([expect.objectContaining({ field: 'newPassword', location: 'body' })]);

    const res = await postJson(
      t,
      '/api/auth/change-password',
      { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
      second,
    );
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ revokedSessions: 1 });
    expect((await me(second)).status).toBe(200);
    expect((await me(third)).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    const old = await postJson(t, '/api/auth/sign-in/email', { email, password: PASSWORD });
    expect(old.body.code).toBe('INVALID_CREDENTIALS');
  });

  it('resets a forgotten password from the mailed link; every earlier session dies', async () => {
    const unknown = await postJson(t, '/api/auth/forgot-password', { email: uniqueEmail('nobody') });
    expect(unknown.status).toBe(200);
    const res = await postJson(t, '/api/auth/forgot-password', { email });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual(unknown.body.data);
    expect(res.body.message).toBe(unknown.body.message);

    const token = await inbox.tokenFor(email, /Reset/);
    const weak = await postJson(t, '/api/auth/reset-password', { token, password: 'short' });
    expect(weak.body.code).toBe('VALIDATION_ERROR');
    const reset = await postJson(t, '/api/auth/reset-password', { token, password: 'yet another good passphrase' });
    expect(reset.status).toBe(200);
    expect(reset.body.data.revokedSessions).toBe(1);
    expect((await me(second)).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    const reused = await postJson(t, '/api/auth/reset-password', { token, password: 'yet another good passphrase 2' });
    expect(reused.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');

    const signIn = await postJson(t, '/api/auth/sign-in/email', { email, password: 'yet another good passphrase' });
    expect(signIn.status).toBe(200);
  });

  it('keeps a history of sign-ins with time, IP, user agent, method and outcome', async () => {
    const signIn = await postJson(
      t,
      '/api/auth/sign-in/email',
      { email, password: 'yet another good passphrase' },
      undefined,
      { 'user-agent': 'flow-test/1.0', 'x-forwarded-for': '203.0.113.9' },
    );
    const cookie = sessionCookieFrom(signIn.headers)!;
    const res = await t.request('/api/user/me/login-history?limit=100', { headers: asBrowser(cookie) });
    expect(res.status).toBe(200);
    const outcomes = res.body.data.map((e: { outcome: string }) => e.outcome);
    expect(outcomes.filter((o: string) => o === 'success').length).toBeGreaterThanOrEqual(4);
    expect(outcomes).toContain('failure');
    expect(res.body.data[0]).toMatchObject({
      ip: '203.0.113.9',
      userAgent: 'flow-test/1.0',
      method: 'pwd',
      outcome: 'success',
    });
    expect(Date.parse(res.body.data[0].createdAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('changes the email only once the new address confirms it', async () => {
    // From another address: this one has spent its sign-in budget (5 a minute) above.
    const signIn = await postJson(
      t,
      '/api/auth/sign-in/email',
      { email, password: 'yet another good passphrase' },
      undefined,
      { 'x-forwarded-for': '198.51.100.40' },
    );
    const cookie = sessionCookieFrom(signIn.headers)!;
    const newEmail = uniqueEmail('moved');
    const res = await postJson(
      t,
      '/api/auth/change-email',
      { newEmail, password: 'yet another good passphrase' },
      cookie,
    );
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ email, pendingEmail: newEmail });
    expect((await me(cookie)).body.data.email).toBe(email);
    const token = await inbox.tokenFor(newEmail, /Confirm/);
    const verified = await postJson(t, '/api/auth/verify-email', { token });
    expect(verified.body.data).toEqual({ email: newEmail, isVerified: true });
    expect((await me(cookie)).body.data.email).toBe(newEmail);
  });
});

describe('CSRF', () => {
  it('refuses cookie-authenticated writes from an untrusted or missing Origin', async () => {
    const signUp = await postJson(
      t,
      '/api/auth/sign-up/email',
      { email: uniqueEmail('csrf'), password: PASSWORD, name: 'C' },
      undefined,
      { 'x-forwarded-for': '198.51.100.30' },
    );
    const cookie = sessionCookieFrom(signUp.headers)!;
    const body = JSON.stringify({ fullName: 'Mallory' });
    const evil = await t.request('/api/user/me', {
      method: 'PUT',
      headers: { ...asBrowser(cookie), origin: 'https://evil.example' },
      body,
    });
    expect(evil.status).toBe(403);
    expect(evil.body.code).toBe('CSRF_REJECTED');
    const none = await t.request('/api/user/me', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', cookie },
      body,
    });
    expect(none.body.code).toBe('CSRF_REJECTED');
    const signOut = await t.request('/api/auth/sign-out', {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example' },
    });
    expect(signOut.body.code).toBe('CSRF_REJECTED');
    const good = await t.request('/api/user/me', { method: 'PUT', headers: asBrowser(cookie), body });
    expect(good.status).toBe(200);
    expect(good.body.data.fullName).toBe('Mallory');
    // Reads need no Origin.
    expect((await t.request('/api/user/me', { headers: { cookie } })).status).toBe(200);
    expect(ORIGIN).toBe(new URL(t.services.config.baseUrl).origin);
  });
});
