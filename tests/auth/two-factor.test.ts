/**
 * Two-factor sign-in with TOTP and backup codes, over REST. Codes are computed here from the otpauth
 * URI that enable returns, with @oslojs/otp and @oslojs/encoding, not through the service's code; the
 * service's clock is the test's, so time steps and expiries are exact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { generateHOTP } from '@oslojs/otp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisUrl, startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, postJson, sessionCookieFrom, signUp, type SignedUp } from '../support/identity.js';

const STEP_MS = 30_000;
/** The middle of a time step, so that moving by whole steps never lands on a boundary. */
const midStep = (ms: number) => Math.floor(ms / STEP_MS) * STEP_MS + STEP_MS / 2;
const clock = { at: midStep(Date.now()), now: () => new Date(clock.at) };

const LOOSE = {
  TRUST_PROXY: 'loopback',
  RATE_LIMIT_SIGN_UP_POINTS: '1000',
  RATE_LIMIT_SIGN_IN_POINTS: '1000',
  RATE_LIMIT_TWO_FACTOR_POINTS: '1000',
};

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ now: clock.now, env: LOOSE });
});
afterAll(async () => {
  await t?.close();
});

/** The code an authenticator app shows for the otpauth URI at `at`, `steps` steps away. */
function codeAt(uri: string, at: number, steps = 0): string {
  const key = decodeBase32IgnorePadding(new URL(uri).searchParams.get('secret')!);
  return generateHOTP(key, BigInt(Math.floor(at / STEP_MS) + steps), 6);
}

const sql = <T = any>(query: string, params: unknown[] = [], app = t) =>
  app.services.orm.em.fork().getConnection().execute<T[]>(query, params);

/** The `name=value` of the challenge cookie a response set. */
const challengeCookieFrom = (headers: Headers) =>
  headers
    .getSetCookie()
    .find((c) => c.startsWith('two_factor_challenge='))
    ?.split(';')[0];

interface TwoFactorUser extends SignedUp {
  uri: string;
  backupCodes: string[];
}

/** A user with two-factor enabled and confirmed; the clock is then moved on a step (confirm spent the current one). */
async function twoFactorUser(app = t): Promise<TwoFactorUser> {
  const user = await signUp(app);
  const enabled = await postJson(app, '/api/auth/two-factor/enable', { password: user.password }, user.cookie);
  expect(enabled.status, JSON.stringify(enabled.body)).toBe(200);
  const { totpURI, backupCodes } = enabled.body.data;
  const confirmed = await postJson(
    app,
    '/api/auth/two-factor/confirm',
    { code: codeAt(totpURI, clock.at) },
    user.cookie,
  );
  expect(confirmed.body.data).toEqual({ enabled: true });
  clock.at += STEP_MS;
  return { ...user, uri: totpURI, backupCodes };
}

/** Signs in with the password: the challenge cookie (asserting that no session cookie came with it). */
async function challenge(user: SignedUp, app = t): Promise<string> {
  const res = await postJson(app, '/api/auth/sign-in/email', { email: user.email, password: user.password });
  expect(res.status).toBe(200);
  expect(res.body.data).toEqual({ twoFactorRequired: true });
  expect(sessionCookieFrom(res.headers)).toBeUndefined();
  return challengeCookieFrom(res.headers)!;
}

const verifyTotp = (cookie: string | undefined, code: unknown, app = t) =>
  postJson(app, '/api/auth/two-factor/verify-totp', { code }, cookie);
const verifyBackup = (cookie: string | undefined, code: unknown, app = t) =>
  postJson(app, '/api/auth/two-factor/verify-backup-code', { code }, cookie);

const history = async (user: SignedUp) =>
  (
    await sql<{ method: string; outcome: string; reason: string | null }>(
      'select method, outcome, reason from login_history where user_id = ? order by id',
      [user.userId],
    )
  ).map((r) => `${r.method}:${r.outcome}${r.reason ? `:${r.reason}` : ''}`);

describe('enabling two-factor', () => {
  it('returns the URI, a QR code and ten backup codes; only confirm turns it on', async () => {
    const user = await signUp(t);
    const me = async () => (await t.request('/api/user/me', { headers: asBrowser(user.cookie) })).body.data;
    expect((await me()).twoFactorEnabled).toBe(false);

    const noPassword = await postJson(t, '/api/auth/two-factor/enable', {}, user.cookie);
    expect([noPassword.status, noPassword.body.code]).toEqual([403, 'REAUTHENTICATION_REQUIRED']);
    const wrongPassword = await postJson(
      t,
      '/api/auth/two-factor/enable',
      { password: 'not my password' },
      user.cookie,
    );
    expect([wrongPassword.status, wrongPassword.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);

    const enabled = await postJson(t, '/api/auth/two-factor/enable', { password: user.password }, user.cookie);
    expect(enabled.status).toBe(200);
    const { totpURI, qrCode, backupCodes } = enabled.body.data;
    const uri = new URL(totpURI);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe(`/localhost:${user.email}`);
    expect(Object.fromEntries(uri.searchParams)).toMatchObject({
      issuer: 'localhost',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
    const secret = uri.searchParams.get('secret')!;
    expect(decodeBase32IgnorePadding(secret)).toHaveLength(20);
    expect(qrCode).toMatch(/^data:image\/png;base64,/);
    expect(Buffer.from(qrCode.split(',')[1], 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(backupCodes).toHaveLength(10);
    expect(new Set(backupCodes).size).toBe(10);
    for (const code of backupCodes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);

    // At rest: the secret encrypted, the codes as keyed hashes (neither the code nor its plain SHA-256).
    const [row] = await sql('select secret, confirmed_at from two_factors where user_id = ?', [user.userId]);
    expect(row.confirmed_at).toBeNull();
    expect(row.secret).not.toContain(secret);
    expect(row.secret.toLowerCase()).not.toContain(secret.toLowerCase());
    expect(row.secret).toMatch(/^v1\./);
    const hashes = (await sql('select code_hash from backup_codes where user_id = ?', [user.userId])).map(
      (r) => r.code_hash,
    );
    expect(hashes).toHaveLength(10);
    for (const code of backupCodes) {
      const plain = code.replace('-', '');
      for (const form of [code, plain, plain.toUpperCase()]) {
        expect(hashes).not.toContain(createHash('sha256').update(form).digest('hex'));
        for (const hash of hashes) expect(hash).not.toContain(form);
      }
    }

    // Pending: sign-in still starts a session directly, and /user/me says off.
    expect((await me()).twoFactorEnabled).toBe(false);
    const signIn = await postJson(t, '/api/auth/sign-in/email', { email: user.email, password: user.password });
    expect(sessionCookieFrom(signIn.headers)).toBeDefined();

    const wrong = await postJson(
      t,
      '/api/auth/two-factor/confirm',
      { code: codeAt(totpURI, clock.at, 3) },
      user.cookie,
    );
    expect([wrong.status, wrong.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect((await me()).twoFactorEnabled).toBe(false);
    const confirmed = await postJson(
      t,
      '/api/auth/two-factor/confirm',
      { code: codeAt(totpURI, clock.at) },
      user.cookie,
    );
    expect([confirmed.status, confirmed.body.data]).toEqual([200, { enabled: true }]);
    expect((await me()).twoFactorEnabled).toBe(true);

    const again = await postJson(t, '/api/auth/two-factor/enable', { password: user.password }, user.cookie);
    expect([again.status, again.body.code]).toEqual([409, 'CONFLICT']);
    const confirmAgain = await postJson(t, '/api/auth/two-factor/confirm', { code: '123456' }, user.cookie);
    expect([confirmAgain.status, confirmAgain.body.code]).toEqual([409, 'CONFLICT']);
  });

  it('enabling again before confirming replaces the secret and the backup codes', async () => {
    const user = await signUp(t);
    const first = await postJson(t, '/api/auth/two-factor/enable', { password: user.password }, user.cookie);
    const second = await postJson(t, '/api/auth/two-factor/enable', { password: user.password }, user.cookie);
    expect(second.body.data.totpURI).not.toBe(first.body.data.totpURI);
    const stale = await postJson(
      t,
      '/api/auth/two-factor/confirm',
      { code: codeAt(first.body.data.totpURI, clock.at) },
      user.cookie,
    );
    expect(stale.body.code).toBe('INVALID_CREDENTIALS');
    expect(await sql('select id from backup_codes where user_id = ?', [user.userId])).toHaveLength(10);
  });

  it('is for sessions only', async () => {
    const res = await t.request('/api/auth/two-factor/enable', { method: 'POST', headers: asBrowser() });
    expect([res.status, res.body.code]).toEqual([401, 'AUTHENTICATION_REQUIRED']);
  });
});

describe('signing in with a TOTP code', () => {
  it('challenges after the password, then starts a pwd+otp session, recorded in the history', async () => {
    const user = await twoFactorUser();
    const cookie = await challenge(user);
    const raw = (
      await postJson(t, '/api/auth/sign-in/email', { email: user.email, password: user.password })
    ).headers.getSetCookie();
    const set = raw.find((c) => c.startsWith('two_factor_challenge='))!;
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/Max-Age=300/);
    expect(set).toMatch(/SameSite=Lax/);

    // The challenge is no session.
    const meWithChallenge = await t.request('/api/user/me', { headers: asBrowser(cookie) });
    expect(meWithChallenge.body.code).toBe('AUTHENTICATION_REQUIRED');

    const res = await verifyTotp(cookie, codeAt(user.uri, clock.at));
    expect(res.status).toBe(200);
    expect(res.body.data.user).toMatchObject({ id: user.userId, email: user.email });
    const session = sessionCookieFrom(res.headers)!;
    expect(session).toBeDefined();
    expect(res.headers.getSetCookie().find((c) => c.startsWith('two_factor_challenge='))).toMatch(/Max-Age=0/);

    const sessions = await t.request('/api/auth/sessions', { headers: asBrowser(session) });
    const current = sessions.body.data.find((s: any) => s.current);
    expect(current.authMethods).toEqual(['pwd', 'otp']);
    const me = await t.request('/api/user/me', { headers: asBrowser(session) });
    expect(me.body.data.twoFactorEnabled).toBe(true);

    const events = await t.request('/api/user/me/login-history', { headers: asBrowser(session) });
    const seen = events.body.data.map((e: any) => `${e.method}:${e.outcome}`);
    expect(seen).toEqual(expect.arrayContaining(['pwd:challenged', 'otp:success']));
    expect(await history(user)).toEqual([
      'pwd:success', // sign-up
      'pwd:challenged:second-factor-required',
      'pwd:challenged:second-factor-required',
      'otp:success',
    ]);
  });

  it('accepts the previous and the next step, not two steps away, and never an earlier step than the last', async () => {
    const user = await twoFactorUser();
    clock.at += STEP_MS; // the previous step is then not the one confirm spent
    let cookie = await challenge(user);
    const twoAgo = await verifyTotp(cookie, codeAt(user.uri, clock.at, -2));
    expect([twoAgo.status, twoAgo.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    const twoAhead = await verifyTotp(cookie, codeAt(user.uri, clock.at, 2));
    expect(twoAhead.body.code).toBe('INVALID_CREDENTIALS');
    expect((await verifyTotp(cookie, codeAt(user.uri, clock.at, -1))).status).toBe(200);

    cookie = await challenge(user);
    expect((await verifyTotp(cookie, codeAt(user.uri, clock.at, 1))).status).toBe(200);

    // The next step was spent: the current one is older, so it counts as replayed.
    cookie = await challenge(user);
    const older = await verifyTotp(cookie, codeAt(user.uri, clock.at));
    expect(older.body.code).toBe('INVALID_CREDENTIALS');
    expect((await history(user)).filter((e) => e.startsWith('otp:'))).toEqual([
      'otp:failure:wrong-code',
      'otp:failure:wrong-code',
      'otp:success',
      'otp:success',
      'otp:failure:replayed',
    ]);
  });

  it('refuses a code used once already', async () => {
    const user = await twoFactorUser();
    const code = codeAt(user.uri, clock.at);
    expect((await verifyTotp(await challenge(user), code)).status).toBe(200);
    const replay = await verifyTotp(await challenge(user), code);
    expect([replay.status, replay.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect(replay.body.meta.attemptsLeft).toBe(4);
    expect((await history(user)).at(-1)).toBe('otp:failure:replayed');
  });

  it('refuses what is not a 6-digit code with 400, spending no try', async () => {
    const user = await twoFactorUser();
    const cookie = await challenge(user);
    for (const code of ['abcdef', '1234567', '12345', '12\u00003456', '9'.repeat(100_000), 123456, null, '']) {
      const res = await verifyTotp(cookie, code);
      expect([res.status, res.body.code], String(code).slice(0, 20)).toEqual([400, 'VALIDATION_ERROR']);
    }
    const extra = await postJson(t, '/api/auth/two-factor/verify-totp', { code: '123456', userId: 'x' }, cookie);
    expect(extra.body.code).toBe('VALIDATION_ERROR');
    for (const code of ['abcde-fghi1', 'abcdefghijk', '\u0000', 'x'.repeat(100_000)]) {
      expect((await verifyBackup(cookie, code)).body.code).toBe('VALIDATION_ERROR');
    }
    const [row] = await sql('select attempts from sign_in_challenges where user_id = ?', [user.userId]);
    expect(row.attempts).toBe(0);
    expect((await verifyTotp(cookie, codeAt(user.uri, clock.at))).status).toBe(200);
  });
});

describe('the sign-in challenge', () => {
  it('is needed, and unknown or malformed ones are refused', async () => {
    const user = await twoFactorUser();
    await challenge(user);
    for (const cookie of [undefined, 'two_factor_challenge=nope', `two_factor_challenge=${'A'.repeat(43)}`]) {
      const res = await verifyTotp(cookie, codeAt(user.uri, clock.at));
      expect([res.status, res.body.code]).toEqual([401, 'INVALID_OR_EXPIRED_TOKEN']);
    }
  });

  it('allows 5 tries, then is dead even for the right code', async () => {
    const user = await twoFactorUser();
    const cookie = await challenge(user);
    const wrong = codeAt(user.uri, clock.at, 5);
    for (let left = 4; left >= 0; left--) {
      const res = await verifyTotp(cookie, wrong);
      expect([res.status, res.body.code, res.body.meta.attemptsLeft]).toEqual([401, 'INVALID_CREDENTIALS', left]);
    }
    const dead = await verifyTotp(cookie, codeAt(user.uri, clock.at));
    expect([dead.status, dead.body.code]).toEqual([401, 'INVALID_OR_EXPIRED_TOKEN']);
    expect(sessionCookieFrom(dead.headers)).toBeUndefined();
  });

  it('gives concurrent guesses no more than its 5 tries', async () => {
    const user = await twoFactorUser();
    const cookie = await challenge(user);
    const wrong = codeAt(user.uri, clock.at, 6);
    const answers = await Promise.all(Array.from({ length: 10 }, () => verifyTotp(cookie, wrong)));
    const codes = answers.map((r) => r.body.code).sort();
    expect(codes).toEqual([...Array(5).fill('INVALID_CREDENTIALS'), ...Array(5).fill('INVALID_OR_EXPIRED_TOKEN')]);
  });

  it('tells a deactivated account so only for the right code, and spends no backup code on it', async () => {
    const user = await twoFactorUser();
    const cookie = await challenge(user);
    await sql('update users set is_active = false where id = ?', [user.userId]);
    expect((await verifyTotp(cookie, codeAt(user.uri, clock.at, 4))).body.code).toBe('INVALID_CREDENTIALS');
    const totp = await verifyTotp(cookie, codeAt(user.uri, clock.at));
    expect([totp.status, totp.body.code]).toEqual([401, 'USER_NOT_ACTIVE']);
    const backup = await verifyBackup(cookie, user.backupCodes[0]);
    expect([backup.status, backup.body.code]).toEqual([401, 'USER_NOT_ACTIVE']);
    expect(sessionCookieFrom(backup.headers)).toBeUndefined();
    expect(await sql('select 1 from backup_codes where user_id = ? and used_at is not null', [user.userId])).toEqual(
      [],
    );
    expect((await history(user)).slice(-3)).toEqual([
      'otp:failure:wrong-code',
      'otp:failure:inactive',
      'backup:failure:inactive',
    ]);
  });

  it('lives 5 minutes', async () => {
    const user = await twoFactorUser();
    const cookie = await challenge(user);
    clock.at += 5 * 60 * 1000 + 1000;
    const late = await verifyTotp(cookie, codeAt(user.uri, clock.at));
    expect([late.status, late.body.code]).toEqual([401, 'INVALID_OR_EXPIRED_TOKEN']);
    clock.at = midStep(clock.at);
  });

  it('ends in one session only', async () => {
    const user = await twoFactorUser();
    const cookie = await challenge(user);
    expect((await verifyTotp(cookie, codeAt(user.uri, clock.at))).status).toBe(200);
    const again = await verifyTotp(cookie, codeAt(user.uri, clock.at, 1));
    expect(again.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
    const backup = await verifyBackup(cookie, user.backupCodes[0]);
    expect(backup.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it("is bound to its user: another user's challenge does not take my code", async () => {
    const ada = await twoFactorUser();
    const bob = await twoFactorUser();
    const bobs = await challenge(bob);
    const res = await verifyTotp(bobs, codeAt(ada.uri, clock.at));
    expect(res.body.code).toBe('INVALID_CREDENTIALS');
    const backup = await verifyBackup(bobs, ada.backupCodes[0]);
    expect(backup.body.code).toBe('INVALID_CREDENTIALS');
    const signedIn = await verifyTotp(bobs, codeAt(bob.uri, clock.at));
    expect(signedIn.body.data.user.id).toBe(bob.userId);
    // Ada's code is still hers to use.
    expect((await verifyTotp(await challenge(ada), codeAt(ada.uri, clock.at))).body.data.user.id).toBe(ada.userId);
  });

  it("blocks a user's second step (429) after 10 failures over fresh challenges, and only that user's", async () => {
    const user = await twoFactorUser();
    const wrong = codeAt(user.uri, clock.at, 7);
    for (let round = 0; round < 2; round++) {
      const cookie = await challenge(user);
      for (let i = 0; i < 5; i++) expect((await verifyTotp(cookie, wrong)).body.code).toBe('INVALID_CREDENTIALS');
    }
    const blocked = await verifyTotp(await challenge(user), codeAt(user.uri, clock.at));
    expect([blocked.status, blocked.body.code]).toEqual([429, 'RATE_LIMIT_ERROR']);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(sessionCookieFrom(blocked.headers)).toBeUndefined();
    const backup = await verifyBackup(await challenge(user), user.backupCodes[0]);
    expect(backup.body.code).toBe('RATE_LIMIT_ERROR');
    expect((await history(user)).at(-1)).toBe('backup:blocked:too-many-failures');
    // Another user is not affected.
    const other = await twoFactorUser();
    expect((await verifyTotp(await challenge(other), codeAt(other.uri, clock.at))).status).toBe(200);
  });
});

describe('backup codes', () => {
  it('sign in once each, with or without the dash, in any case', async () => {
    const user = await twoFactorUser();
    const [first, second] = user.backupCodes as [string, string];
    const res = await verifyBackup(await challenge(user), first.replace('-', '').toUpperCase());
    expect(res.status).toBe(200);
    const session = sessionCookieFrom(res.headers)!;
    const sessions = await t.request('/api/auth/sessions', { headers: asBrowser(session) });
    expect(sessions.body.data.find((s: any) => s.current).authMethods).toEqual(['pwd', 'backup']);

    const reused = await verifyBackup(await challenge(user), first);
    expect([reused.status, reused.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect((await verifyBackup(await challenge(user), ` ${second} `)).status).toBe(200);
    const used = await sql('select used_at from backup_codes where user_id = ? and used_at is not null', [user.userId]);
    expect(used).toHaveLength(2);
    expect((await history(user)).filter((e) => e.startsWith('backup:'))).toEqual([
      'backup:success',
      'backup:failure:used-code',
      'backup:success',
    ]);
  });

  it('regenerating needs the password and invalidates the old set', async () => {
    const user = await twoFactorUser();
    const noPassword = await postJson(t, '/api/auth/two-factor/backup-codes', {}, user.cookie);
    expect([noPassword.status, noPassword.body.code]).toEqual([403, 'REAUTHENTICATION_REQUIRED']);
    const wrong = await postJson(t, '/api/auth/two-factor/backup-codes', { password: 'wrong password!' }, user.cookie);
    expect([wrong.status, wrong.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    const fresh = await postJson(t, '/api/auth/two-factor/backup-codes', { password: user.password }, user.cookie);
    expect(fresh.status).toBe(200);
    const codes: string[] = fresh.body.data.backupCodes;
    expect(codes).toHaveLength(10);
    expect(codes.filter((c) => user.backupCodes.includes(c))).toEqual([]);

    expect((await verifyBackup(await challenge(user), user.backupCodes[3])).body.code).toBe('INVALID_CREDENTIALS');
    expect((await verifyBackup(await challenge(user), codes[3])).status).toBe(200);
  });
});

describe('disabling two-factor', () => {
  it('needs the password, removes the factor and the codes, and sign-in is one step again', async () => {
    const user = await twoFactorUser();
    const noPassword = await postJson(t, '/api/auth/two-factor/disable', {}, user.cookie);
    expect([noPassword.status, noPassword.body.code]).toEqual([403, 'REAUTHENTICATION_REQUIRED']);
    const wrong = await postJson(t, '/api/auth/two-factor/disable', { password: 'wrong password!' }, user.cookie);
    expect([wrong.status, wrong.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    expect(await sql('select 1 from two_factors where user_id = ?', [user.userId])).toHaveLength(1);

    const off = await postJson(t, '/api/auth/two-factor/disable', { password: user.password }, user.cookie);
    expect([off.status, off.body.data]).toEqual([200, { enabled: false }]);
    expect(await sql('select 1 from two_factors where user_id = ?', [user.userId])).toHaveLength(0);
    expect(await sql('select 1 from backup_codes where user_id = ?', [user.userId])).toHaveLength(0);
    const me = await t.request('/api/user/me', { headers: asBrowser(user.cookie) });
    expect(me.body.data.twoFactorEnabled).toBe(false);

    const signIn = await postJson(t, '/api/auth/sign-in/email', { email: user.email, password: user.password });
    expect(sessionCookieFrom(signIn.headers)).toBeDefined();
    const again = await postJson(t, '/api/auth/two-factor/disable', { password: user.password }, user.cookie);
    expect([again.status, again.body.code]).toEqual([409, 'CONFLICT']);
  });

  it('the backup-code route refuses a user without two-factor', async () => {
    const user = await signUp(t);
    const res = await postJson(t, '/api/auth/two-factor/backup-codes', { password: user.password }, user.cookie);
    expect([res.status, res.body.code]).toEqual([409, 'CONFLICT']);
  });
});

describe('the per-IP budget', () => {
  it('allows 5 calls a minute to /auth/two-factor/* from one address', async () => {
    const app = await startTestApp({ env: { TRUST_PROXY: 'loopback', RATE_LIMIT_SIGN_UP_POINTS: '100' } });
    try {
      const ip = { 'x-forwarded-for': `198.51.100.${1 + (randomBytes(1)[0]! % 200)}` };
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await postJson(app, '/api/auth/two-factor/verify-totp', { code: '123456' }, undefined, ip);
        statuses.push(res.status);
        if (i === 5) expect(res.body.code).toBe('RATE_LIMIT_ERROR');
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    } finally {
      await app.close();
    }
  });
});

describe.skipIf(!redisUrl())('two instances sharing PostgreSQL and Redis', () => {
  it('refuse on one a code accepted on the other, also when both race', async () => {
    const database = await createTestDatabase();
    const env = { ...LOOSE, RATE_LIMIT_PREFIX: `shared:${randomBytes(4).toString('hex')}` };
    const a = await startTestApp({ env, databaseUrl: database.url, now: clock.now });
    const b = await startTestApp({ env, databaseUrl: database.url, now: clock.now });
    try {
      const user = await twoFactorUser(a);
      const code = codeAt(user.uri, clock.at);
      expect((await verifyTotp(await challenge(user, a), code, a)).status).toBe(200);
      const replay = await verifyTotp(await challenge(user, b), code, b);
      expect([replay.status, replay.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);

      clock.at += STEP_MS;
      const next = codeAt(user.uri, clock.at);
      const [onA, onB] = [await challenge(user, a), await challenge(user, b)];
      const raced = await Promise.all([verifyTotp(onA, next, a), verifyTotp(onB, next, b)]);
      expect(raced.map((r) => r.status).sort()).toEqual([200, 401]);
    } finally {
      await a.close();
      await b.close();
      await database.drop();
    }
  });
});
