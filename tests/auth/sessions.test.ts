/** Session cookies over time (a controllable clock), and every credential error code. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserSchema } from '../../entities/user.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, postJson, signUp } from '../support/identity.js';

const DAY = 24 * 60 * 60 * 1000;
const clock = { at: Date.now(), now: () => new Date(clock.at) };

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ now: clock.now, env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '100' } });
});
afterAll(async () => {
  await t?.close();
});

const me = (headers: Record<string, string>) => t.request('/api/user/me', { headers });
const lastSeen = async (userId: string) => {
  const rows = await t.services.orm.em
    .fork()
    .getConnection()
    .execute('select last_seen_at from sessions where user_id = ?', [userId]);
  return new Date(rows[0]!.last_seen_at).getTime();
};

describe('session lifetime', () => {
  it('slides lastSeenAt at most once a day and dies after 7 idle days', async () => {
    clock.at = Date.now();
    const user = await signUp(t);
    const start = await lastSeen(user.userId);

    clock.at += 12 * 60 * 60 * 1000;
    expect((await me(asBrowser(user.cookie))).status).toBe(200);
    expect(await lastSeen(user.userId)).toBe(start);

    clock.at += 13 * 60 * 60 * 1000;
    expect((await me(asBrowser(user.cookie))).status).toBe(200);
    expect(await lastSeen(user.userId)).toBe(clock.at);

    clock.at += 7 * DAY - 1000;
    expect((await me(asBrowser(user.cookie))).status).toBe(200);
    clock.at += 7 * DAY;
    const idle = await me(asBrowser(user.cookie));
    expect(idle.status).toBe(401);
    expect(idle.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('dies 30 days after sign-in however active', async () => {
    clock.at = Date.now();
    const user = await signUp(t);
    for (let day = 6; day < 30; day += 6) {
      clock.at = Date.now() + day * DAY;
      expect((await me(asBrowser(user.cookie))).status).toBe(200);
    }
    clock.at = Date.now() + 30 * DAY;
    expect((await me(asBrowser(user.cookie))).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    clock.at = Date.now();
  });
});

describe('credential errors', () => {
  it('AUTHENTICATION_REQUIRED without a credential', async () => {
    const res = await me({});
    expect(res.body).toMatchObject({ status: 401, code: 'AUTHENTICATION_REQUIRED', data: null });
  });

  it('NO_TOKEN_PROVIDED for an empty X-Api-Key or a bare Bearer', async () => {
    expect((await me({ 'x-api-key': '' })).body).toMatchObject({ status: 401, code: 'NO_TOKEN_PROVIDED' });
    expect((await me({ authorization: 'Bearer' })).body).toMatchObject({ status: 401, code: 'NO_TOKEN_PROVIDED' });
    expect((await me({ authorization: 'Bearer   ' })).body).toMatchObject({ status: 401, code: 'NO_TOKEN_PROVIDED' });
  });

  it('INVALID_OR_EXPIRED_TOKEN for a malformed, unknown or revoked cookie, with no fallback to other credentials', async () => {
    expect((await me({ cookie: 'session=garbage' })).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect((await me({ cookie: `session=${'A'.repeat(43)}` })).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    const user = await signUp(t);
    await postJson(t, '/api/auth/sign-out', {}, user.cookie);
    expect((await me({ cookie: user.cookie })).body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    // A bad API key fails even next to a good cookie: the header wins and is not skipped.
    const other = await signUp(t);
    expect((await me({ cookie: other.cookie, 'x-api-key': 'ba_nope' })).body.code).toBe('INVALID_API_KEY');
    expect((await me({ cookie: other.cookie, authorization: 'Bearer nope' })).body.code).toBe(
      'INVALID_OR_EXPIRED_TOKEN',
    );
  });

  it('USER_NOT_ACTIVE for a deactivated user, on the cookie and at sign-in', async () => {
    const user = await signUp(t);
    await t.services.orm.em.fork().nativeUpdate(UserSchema, { id: user.userId }, { isActive: false });
    expect((await me({ cookie: user.cookie })).body).toMatchObject({ status: 401, code: 'USER_NOT_ACTIVE' });
    const signIn = await postJson(
      t,
      '/api/auth/sign-in/email',
      { email: user.email, password: user.password },
      undefined,
      { 'x-forwarded-for': '192.0.2.77' },
    );
    expect(signIn.body).toMatchObject({ status: 401, code: 'USER_NOT_ACTIVE' });
    expect(signIn.headers.getSetCookie()).toEqual([]);
  });

  it('session-only routes refuse tokens, and GET /auth/session answers null when signed out', async () => {
    const session = await t.request('/api/auth/session');
    expect(session.body).toMatchObject({ status: 200, data: null });
    expect((await t.request('/api/auth/sessions')).body.code).toBe('AUTHENTICATION_REQUIRED');
  });
});

describe('bad input', () => {
  it('names each bad sign-up field and writes nothing', async () => {
    const countUsers = () => t.services.orm.em.fork().count(UserSchema, {});
    const before = await countUsers();
    const cases: [Record<string, unknown>, string][] = [
      [{ email: 'not-an-email', password: 'a fine passphrase', name: 'A' }, 'email'],
      [{ email: 'a@example.com', password: 'short', name: 'A' }, 'password'],
      [{ email: 'a@example.com', password: 'x'.repeat(257), name: 'A' }, 'password'],
      [{ email: 'a@example.com', password: 'iloveyou123', name: 'A' }, 'password'],
      [{ email: 'a@example.com', password: 'a fine passphrase', name: '' }, 'name'],
      [{ email: 'a@example.com', password: 'a fine passphrase', name: 'A', admin: true }, 'admin'],
      [{ email: 'a@example.com', password: 12345678, name: 'A' }, 'password'],
    ];
    for (const [body, field] of cases) {
      const res = await postJson(t, '/api/auth/sign-up/email', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('VALIDATION_ERROR');
      expect(res.body.meta.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    expect(await countUsers()).toBe(before);
  });

  it('keeps all 256 characters of a password: no truncation', async () => {
    const long = 'p'.repeat(255);
    const user = await signUp(t, { password: `${long}A` });
    const wrong = await postJson(t, '/api/auth/sign-in/email', { email: user.email, password: `${long}B` }, undefined, {
      'x-forwarded-for': '192.0.2.88',
    });
    expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
    const right = await postJson(t, '/api/auth/sign-in/email', { email: user.email, password: `${long}A` }, undefined, {
      'x-forwarded-for': '192.0.2.88',
    });
    expect(right.status).toBe(200);
  });

  it('answers an expired or foreign token with a clear 4xx', async () => {
    for (const token of ['x', 'A'.repeat(43), 'not a token at all!']) {
      const res = await postJson(t, '/api/auth/verify-email', { token });
      expect(res.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
      const reset = await postJson(t, '/api/auth/reset-password', { token, password: 'a fine passphrase' });
      expect(reset.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    }
  });
});
