/**
 * Step-up on security actions: changing the email, deleting the account, creating an API key with a
 * write or delete scope. An account with a password confirms with it; one without (passkey, magic
 * link) needs a sign-in within the last 10 minutes; tokens are not asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeySchema } from '../../entities/api-key.js';
import { UserSchema } from '../../entities/user.js';
import { createApiKey } from '../support/api-keys.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, postJson, signUp, uniqueEmail, type SignedUp } from '../support/identity.js';

/** The service's clock: real time, moved forward by `offset`. */
const clock = { offset: 0, now: () => new Date(Date.now() + clock.offset) };
const MINUTE_MS = 60_000;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    now: clock.now,
    env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '1000', RATE_LIMIT_GLOBAL_POINTS: '100000' },
  });
});
afterAll(async () => {
  await t?.close();
});

/** Each security action, called with the user's session and `extra` in the body. */
const ACTIONS = {
  'change the email': (user: SignedUp, extra: Record<string, unknown>) =>
    postJson(t, '/api/auth/change-email', { newEmail: uniqueEmail('moved'), ...extra }, user.cookie),
  'create an API key with a write scope': (user: SignedUp, extra: Record<string, unknown>) =>
    postJson(t, '/api/auth/api-key/create', { name: 'deploy', scopes: ['projects:write'], ...extra }, user.cookie),
  'create an API key with a delete scope': (user: SignedUp, extra: Record<string, unknown>) =>
    postJson(t, '/api/auth/api-key/create', { name: 'cleanup', scopes: ['api-keys:delete'], ...extra }, user.cookie),
  'delete the account': (user: SignedUp, extra: Record<string, unknown>) =>
    t.request('/api/user/me', { method: 'DELETE', headers: asBrowser(user.cookie), body: JSON.stringify(extra) }),
};

/** Turns the user into an account without a password, as a passkey or magic-link sign-up makes. */
async function dropPassword(user: SignedUp): Promise<void> {
  await t.services.orm.em
    .fork()
    .getConnection()
    .execute(`delete from accounts where user_id = ? and provider_id = 'credential'`, [user.userId]);
}

const userExists = async (user: SignedUp) =>
  (await t.services.orm.em.fork().count(UserSchema, { id: user.userId })) > 0;
const keyCount = (user: SignedUp) => t.services.orm.em.fork().count(ApiKeySchema, { userId: user.userId });

describe.each(Object.entries(ACTIONS))('to %s', (_, act) => {
  it('an account with a password confirms with it: missing is REAUTHENTICATION_REQUIRED, wrong INVALID_CREDENTIALS', async () => {
    const user = await signUp(t);
    const missing = await act(user, {});
    expect(missing.body).toMatchObject({
      success: false,
      status: 403,
      code: 'REAUTHENTICATION_REQUIRED',
      data: null,
      meta: { accepts: ['password'] },
    });
    const wrong = await act(user, { password: 'not the password at all' });
    expect(wrong.body).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS', data: null });
    expect(await keyCount(user)).toBe(0);
    expect(await userExists(user)).toBe(true);

    const right = await act(user, { password: user.password });
    expect(right.body, JSON.stringify(right.body)).toMatchObject({ success: true, status: 200 });
  });

  it('an account without a password needs a sign-in within the last 10 minutes', async () => {
    const fresh = await signUp(t);
    await dropPassword(fresh);
    clock.offset = 9 * MINUTE_MS;
    try {
      // A password sent anyway changes nothing: there is none to check.
      const within = await act(fresh, { password: 'whatever it may be' });
      expect(within.body, JSON.stringify(within.body)).toMatchObject({ success: true, status: 200 });
    } finally {
      clock.offset = 0;
    }

    const stale = await signUp(t);
    await dropPassword(stale);
    clock.offset = 11 * MINUTE_MS;
    try {
      const res = await act(stale, {});
      expect(res.body).toMatchObject({
        status: 403,
        code: 'REAUTHENTICATION_REQUIRED',
        data: null,
        meta: { maxAgeSeconds: 600 },
      });
      expect(await keyCount(stale)).toBe(0);
      expect(await userExists(stale)).toBe(true);
    } finally {
      clock.offset = 0;
    }
  });
});

describe('API keys', () => {
  it('asks nothing of a key that only reads, nor of a token creating one within its own scopes', async () => {
    const user = await signUp(t);
    const reader = await postJson(
      t,
      '/api/auth/api-key/create',
      { name: 'reader', scopes: ['projects:read', 'user:read'] },
      user.cookie,
    );
    expect(reader.body).toMatchObject({ status: 200, data: { scopes: ['projects:read', 'user:read'] } });

    const token = await createApiKey(t, { userId: user.userId, scopes: ['api-keys:write', 'projects:write'] });
    const minted = await postJson(
      t,
      '/api/auth/api-key/create',
      { name: 'child', scopes: ['projects:write'] },
      undefined,
      { 'x-api-key': token },
    );
    expect(minted.body).toMatchObject({ status: 200, data: { scopes: ['projects:write'] } });
  });

  it('checks the scopes before the password: an unknown scope is a VALIDATION_ERROR, not a step-up', async () => {
    const user = await signUp(t);
    const res = await postJson(t, '/api/auth/api-key/create', { name: 'x', scopes: ['root:write'] }, user.cookie);
    expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
  });
});

describe('change email', () => {
  it('takes its password in the field it always had, and still refuses unknown fields', async () => {
    const user = await signUp(t);
    const old = await postJson(
      t,
      '/api/auth/change-email',
      { newEmail: uniqueEmail('moved'), currentPassword: user.password },
      user.cookie,
    );
    expect(old.body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
    const res = await postJson(
      t,
      '/api/auth/change-email',
      { newEmail: uniqueEmail('moved'), password: user.password },
      user.cookie,
    );
    expect(res.body).toMatchObject({ status: 200, message: 'Confirmation sent to the new address' });
  });
});
