/**
 * Magic links end to end over REST, with mail received by a real SMTP server: the link signs in once
 * within 15 minutes, creates the account of a new address (unless MAGIC_LINK_SIGN_UP=false), hands a
 * two-factor user the second step, and sends the browser only to trusted origins.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueVerification } from '../../procedures/auth/verifications.js';
import { loadConfig } from '../../server/config.js';
import { callerFor, startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, postJson, sessionCookieFrom, signUp, uniqueEmail } from '../support/identity.js';
import { startInbox, type Inbox } from '../support/mail.js';

const APP_URL = 'https://app.example.com';
const TRUSTED = 'https://trusted.example.com';
const MINUTE = 60_000;

let t: TestApp;
let inbox: Inbox;
/** How far the service's clock is ahead of the real one. */
let clockAhead = 0;
beforeAll(async () => {
  inbox = await startInbox();
  t = await startTestApp({
    env: {
      SMTP_URL: inbox.url,
      TRUST_PROXY: 'loopback',
      APP_URL,
      TRUSTED_ORIGINS: `http://localhost:3000,${APP_URL},${TRUSTED}`,
    },
    now: () => new Date(Date.now() + clockAhead),
  });
});
afterAll(async () => {
  await t?.close();
  await inbox?.close();
});

// Each call from an address of its own, so that the per-IP budgets (5 an hour) are not what a test meets.
let nextClient = 1;
const freshIp = () => `198.18.${Math.floor(nextClient / 250)}.${(nextClient++ % 250) + 1}`;
const from = (ip: string) => ({ 'x-forwarded-for': ip });

const send = (email: string, callbackURL?: string, ip = freshIp()) =>
  postJson(t, '/api/auth/magic-link/send', callbackURL ? { email, callbackURL } : { email }, undefined, from(ip));

const linkMails = (email: string) =>
  inbox.messages.filter(
    (m) =>
      [m.to]
        .flat()
        .flatMap((a) => a?.value ?? [])
        .some((v) => v.address?.toLowerCase() === email) && /sign-in link/.test(m.subject ?? ''),
  );

/** The link in the `count`-th sign-in mail to `email` (waiting for it). */
async function linkIn(email: string, count = 1): Promise<URL> {
  await expect.poll(() => linkMails(email).length, { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(count);
  const text = linkMails(email)[count - 1]!.text ?? '';
  return new URL(/https?:\/\/\S+\/api\/auth\/magic-link\/verify\?\S+/.exec(text)![0]);
}

/** Opens a link as a browser would, without following the redirect. */
async function open(link: URL | string, ip = freshIp()) {
  const url = typeof link === 'string' ? new URL(link, t.url) : link;
  return fetch(`${t.url}${url.pathname}${url.search}`, { redirect: 'manual', headers: from(ip) });
}

const deadLink = (callbackURL?: string) =>
  `/api/auth/magic-link/verify?token=${'A'.repeat(43)}${callbackURL ? `&callbackURL=${encodeURIComponent(callbackURL)}` : ''}`;

const challengeCookieFrom = (headers: Headers) =>
  headers.getSetCookie().find((c) => c.startsWith('two_factor_challenge='));

const sql = <T>(query: string, params: unknown[] = []) =>
  t.services.orm.em.fork().getConnection().execute<T[]>(query, params);

describe('a magic link for an account', () => {
  it('mails a link to the API, which signs in once, verifies the address and sends the browser to the trusted callbackURL', async () => {
    const user = await signUp(t, { verified: false, ip: freshIp() });
    const callbackURL = `${TRUSTED}/dashboard?tab=projects`;
    const res = await send(user.email.toUpperCase(), callbackURL);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, code: 'OK', data: { sent: true } });

    const link = await linkIn(user.email);
    expect(link.origin + link.pathname).toBe(`${t.services.config.baseUrl}/api/auth/magic-link/verify`);
    expect(link.searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(link.searchParams.get('callbackURL')).toBe(callbackURL);
    const stored = await sql<{ token_hash: string; user_id: string; expires_at: string; created_at: string }>(
      `select token_hash, user_id, expires_at, created_at from verifications where purpose = 'magic-link' and email = ?`,
      [user.email],
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.user_id).toBe(user.userId);
    expect(stored[0]!.token_hash).not.toContain(link.searchParams.get('token'));
    expect(Date.parse(stored[0]!.expires_at) - Date.parse(stored[0]!.created_at)).toBe(15 * MINUTE);

    const opened = await open(link);
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe(callbackURL);
    expect(await opened.text()).toBe('');
    expect(opened.headers.get('cache-control')).toBe('no-store');
    const cookie = sessionCookieFrom(opened.headers)!;
    expect(cookie).toBeDefined();

    const me = await t.request('/api/user/me', { headers: asBrowser(cookie) });
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ email: user.email, isVerified: true });
    const sessions = await t.request('/api/auth/sessions', { headers: asBrowser(cookie) });
    const current = sessions.body.data.find((s: { current: boolean }) => s.current);
    expect(current.authMethods).toEqual(['magic-link']);
    const history = await t.request('/api/user/me/login-history', { headers: asBrowser(cookie) });
    expect(history.body.data[0]).toMatchObject({ method: 'magic-link', outcome: 'success' });

    // Used once: the same link again signs nobody in.
    const again = await open(link);
    expect(again.status).toBe(303);
    expect(new URL(again.headers.get('location')!).searchParams.get('error')).toBe('INVALID_OR_EXPIRED_TOKEN');
    expect(again.headers.get('location')).toBe(`${callbackURL}&error=INVALID_OR_EXPIRED_TOKEN`);
    expect(sessionCookieFrom(again.headers)).toBeUndefined();
  });

  it('a link dies after 15 minutes', async () => {
    const user = await signUp(t, { ip: freshIp() });
    await send(user.email);
    const link = await linkIn(user.email);
    clockAhead = 15 * MINUTE + 1000;
    try {
      const opened = await open(link);
      expect(opened.status).toBe(303);
      expect(opened.headers.get('location')).toBe(`${APP_URL}/?error=INVALID_OR_EXPIRED_TOKEN`);
      expect(sessionCookieFrom(opened.headers)).toBeUndefined();
      // Ten seconds inside the 15 minutes, the same link still works: the dead attempt used nothing up.
      clockAhead = 15 * MINUTE - 10_000;
      expect(sessionCookieFrom((await open(link)).headers)).toBeDefined();
    } finally {
      clockAhead = 0;
    }
  });

  it('a newer link retires the older one', async () => {
    const user = await signUp(t, { ip: freshIp() });
    await send(user.email);
    const first = await linkIn(user.email, 1);
    await send(user.email);
    const second = await linkIn(user.email, 2);
    expect(sessionCookieFrom((await open(first)).headers)).toBeUndefined();
    const opened = await open(second);
    expect(opened.headers.get('location')).toBe(`${APP_URL}/`);
    expect(sessionCookieFrom(opened.headers)).toBeDefined();
  });

  it('a user with two-factor on gets the challenge cookie, not a session, and twoFactorRequired=true in Location', async () => {
    const user = await signUp(t, { ip: freshIp() });
    await sql(
      `insert into two_factors (user_id, secret, confirmed_at, created_at, updated_at) values (?, ?, now(), now(), now())`,
      [user.userId, t.services.encrypter.encrypt('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP')],
    );
    await send(user.email, `${TRUSTED}/after`);
    const opened = await open(await linkIn(user.email));
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe(`${TRUSTED}/after?twoFactorRequired=true`);
    expect(sessionCookieFrom(opened.headers)).toBeUndefined();
    expect(challengeCookieFrom(opened.headers)).toMatch(
      /^two_factor_challenge=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=300; HttpOnly; Secure; SameSite=Lax$/,
    );
    const challenges = await sql<{ methods: string[] }>('select methods from sign_in_challenges where user_id = ?', [
      user.userId,
    ]);
    expect(challenges).toEqual([{ methods: ['magic-link'] }]);
    const sessions = await sql<{ n: string }>('select count(*) as n from sessions where user_id = ?', [user.userId]);
    expect(Number(sessions[0]!.n)).toBe(1); // the sign-up's only
  });

  it('a deactivated account gets no mail, and its earlier link signs nobody in', async () => {
    const user = await signUp(t, { ip: freshIp() });
    await send(user.email);
    const link = await linkIn(user.email);
    await sql('update users set is_active = false where id = ?', [user.userId]);
    expect((await send(user.email)).status).toBe(200);
    await t.services.mailer.idle();
    expect(linkMails(user.email)).toHaveLength(1);
    const opened = await open(link);
    expect(opened.headers.get('location')).toBe(`${APP_URL}/?error=USER_NOT_ACTIVE`);
    expect(sessionCookieFrom(opened.headers)).toBeUndefined();
  });
});

describe('a magic link for a new address', () => {
  it('creates the account on use: verified, with a default organization, and no password', async () => {
    const email = uniqueEmail('newcomer');
    expect((await send(email)).status).toBe(200);
    const link = await linkIn(email);
    expect(await sql('select id from users where email = ?', [email])).toEqual([]);
    const linkRows = await sql<{ user_id: string | null }>(
      `select user_id from verifications where purpose = 'magic-link' and email = ?`,
      [email],
    );
    expect(linkRows).toEqual([{ user_id: null }]);

    const opened = await open(link);
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe(`${APP_URL}/`);
    const cookie = sessionCookieFrom(opened.headers)!;
    const me = await t.request('/api/user/me', { headers: asBrowser(cookie) });
    expect(me.body.data).toMatchObject({ email, isVerified: true, organizationCount: 1 });
    const organizations = await t.request('/api/user/organizations', { headers: asBrowser(cookie) });
    expect(organizations.body.data).toHaveLength(1);
    const [user] = await sql<{ id: string }>('select id from users where email = ?', [email]);
    expect(await sql('select id from accounts where user_id = ?', [user!.id])).toEqual([]);
    const members = await sql<{ role: string }>('select role from members where user_id = ?', [user!.id]);
    expect(members).toEqual([{ role: 'owner' }]);

    // No password to sign in with: every password is wrong.
    const signIn = await postJson(
      t,
      '/api/auth/sign-in/email',
      { email, password: 'any password at all' },
      undefined,
      from(freshIp()),
    );
    expect(signIn.status).toBe(401);
    expect(signIn.body.code).toBe('INVALID_CREDENTIALS');

    // A password can be added later through forgot-password; then it signs in too.
    await postJson(t, '/api/auth/forgot-password', { email }, undefined, from(freshIp()));
    const token = await inbox.tokenFor(email, /Reset/);
    const reset = await postJson(
      t,
      '/api/auth/reset-password',
      { token, password: 'a password added later' },
      undefined,
      from(freshIp()),
    );
    expect(reset.status).toBe(200);
    const withPassword = await postJson(
      t,
      '/api/auth/sign-in/email',
      { email, password: 'a password added later' },
      undefined,
      from(freshIp()),
    );
    expect(withPassword.status).toBe(200);
  });

  it('with MAGIC_LINK_SIGN_UP=false mails nothing to an address without an account (and still signs accounts in)', async () => {
    expect(loadConfig({ MAGIC_LINK_SIGN_UP: 'false' }).magicLinkSignUp).toBe(false);
    expect(loadConfig({}).magicLinkSignUp).toBe(true);
    expect(() => loadConfig({ MAGIC_LINK_SIGN_UP: 'no' })).toThrow(/MAGIC_LINK_SIGN_UP/);

    const closed = await startTestApp({
      env: { SMTP_URL: inbox.url, TRUST_PROXY: 'loopback', MAGIC_LINK_SIGN_UP: 'false' },
    });
    try {
      const stranger = uniqueEmail('stranger');
      const user = await signUp(closed, { ip: freshIp() });
      const answers = [];
      for (const email of [stranger, user.email]) {
        const res = await postJson(closed, '/api/auth/magic-link/send', { email }, undefined, from(freshIp()));
        answers.push({ status: res.status, data: res.body.data });
      }
      expect(answers[0]).toEqual(answers[1]);
      await linkIn(user.email);
      await closed.services.mailer.idle();
      expect(linkMails(stranger)).toHaveLength(0);
      expect(
        await closed.services.orm.em
          .fork()
          .getConnection()
          .execute('select id from verifications where email = ?', [stranger]),
      ).toEqual([]);

      // A link mailed to a new address while sign-up by link was open creates nothing once it is closed.
      const early = await issueVerification(closed.services.orm.em.fork(), {
        userId: null,
        purpose: 'magic-link',
        email: stranger,
        now: new Date(),
      });
      const opened = await fetch(`${closed.url}/api/auth/magic-link/verify?token=${early}`, { redirect: 'manual' });
      expect(opened.status).toBe(303);
      expect(new URL(opened.headers.get('location')!).searchParams.get('error')).toBe('INVALID_OR_EXPIRED_TOKEN');
      expect(sessionCookieFrom(opened.headers)).toBeUndefined();
      expect(
        await closed.services.orm.em.fork().getConnection().execute('select id from users where email = ?', [stranger]),
      ).toEqual([]);
    } finally {
      await closed.close();
    }
  });
});

describe('where the browser goes', () => {
  const hostile = [
    'https://evil.example.net/steal',
    '//evil.example.net/steal',
    '///evil.example.net',
    '/\\evil.example.net',
    '\\\\evil.example.net',
    'https:evil.example.net',
    'https://trusted.example.com.evil.example.net/',
    'https://trusted.example.com@evil.example.net/',
    'https://evil.example.net\\@trusted.example.com/',
    'https://user:pass@trusted.example.com/',
    'http://trusted.example.com/', // the trusted host, but not the trusted origin (scheme)
    'https://trusted.example.com:8443/',
    'javascript:alert(document.cookie)',
    'JavaScript://trusted.example.com/%0aalert(1)',
    'data:text/html,<script>alert(1)</script>',
    ' https://evil.example.net',
    'https://evil.example.net%2F@trusted.example.com',
    'https://evil.example.net\r\nSet-Cookie: x=y',
  ];

  it.each(hostile)('refuses %j: APP_URL only', async (callbackURL) => {
    const opened = await open(deadLink(callbackURL));
    expect(opened.status).toBe(303);
    // APP_URL itself, or a path on it where the parser reads one (`https:evil…` is relative there).
    const location = new URL(opened.headers.get('location')!);
    expect(location.origin).toBe(APP_URL);
    expect(location.username + location.password).toBe('');
    expect(location.searchParams.get('error')).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('drops a hostile callbackURL from the mail, and a good link then goes to APP_URL', async () => {
    const user = await signUp(t, { ip: freshIp() });
    await send(user.email, 'https://evil.example.net/steal');
    const link = await linkIn(user.email);
    expect(link.searchParams.has('callbackURL')).toBe(false);
    // Added to the link by hand, it changes nothing either.
    link.searchParams.set('callbackURL', '//evil.example.net');
    const opened = await open(link);
    expect(opened.headers.get('location')).toBe(`${APP_URL}/`);
    expect(sessionCookieFrom(opened.headers)).toBeDefined();
  });

  it('keeps trusted ones: another trusted origin, a path on APP_URL', async () => {
    for (const [callbackURL, location] of [
      [`${TRUSTED}/x?y=1#z`, `${TRUSTED}/x?y=1&error=INVALID_OR_EXPIRED_TOKEN#z`],
      ['/projects', `${APP_URL}/projects?error=INVALID_OR_EXPIRED_TOKEN`],
      [`${APP_URL}/welcome`, `${APP_URL}/welcome?error=INVALID_OR_EXPIRED_TOKEN`],
    ]) {
      expect((await open(deadLink(callbackURL))).headers.get('location')).toBe(location);
    }
  });

  it('tRPC and direct callers get the location as data', async () => {
    const result = await callerFor(t.services).auth.magicLink.verify({ token: 'nope', callbackURL: `${TRUSTED}/a` });
    expect(result).toEqual({ location: `${TRUSTED}/a?error=INVALID_OR_EXPIRED_TOKEN` });
  });

  it('a malformed query is the envelope, not a redirect', async () => {
    const res = await t.request(`/api/auth/magic-link/verify?token=x&callbackURL=${'a'.repeat(3000)}`, {
      redirect: 'manual',
      headers: from(freshIp()),
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
  });

  it('the OpenAPI document shows the 303 and its Location', async () => {
    const doc = (await t.request('/api/openapi.json')).body;
    const verify = doc.paths['/auth/magic-link/verify'].get;
    expect(verify.responses['303'].headers.Location).toEqual({ $ref: '#/components/headers/Location' });
    expect(verify.responses['303'].content).toBeUndefined();
    expect(verify.responses['200']).toBeUndefined();
    expect(verify.responses['429']).toBeDefined();
    expect(doc.paths['/auth/magic-link/send'].post.responses['200']).toBeDefined();
  });
});

describe('budgets and answers that reveal no account', () => {
  it('5 links an hour per IP, sending and opening alike, then 429', async () => {
    const ip = freshIp();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(uniqueEmail('ip'), undefined, ip)).status);
    for (let i = 0; i < 2; i++) statuses.push((await open(deadLink(), ip)).status);
    const refused = await send(uniqueEmail('ip'), undefined, ip);
    statuses.push(refused.status);
    expect(statuses).toEqual([200, 200, 200, 303, 303, 429]);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMIT_ERROR' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const blockedOpen = await open(deadLink(), ip);
    expect(blockedOpen.status).toBe(429);
    expect(((await blockedOpen.json()) as { code: string }).code).toBe('RATE_LIMIT_ERROR');
  });

  it('5 links an hour per address from any IP, known and unknown alike; the newest one works', async () => {
    const user = await signUp(t, { ip: freshIp() });
    const ghost = uniqueEmail('ghost');
    for (const email of [user.email, ghost]) {
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await send(email)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    }
    const newest = await linkIn(user.email, 5);
    expect(sessionCookieFrom((await open(newest)).headers)).toBeDefined();
  });

  it('answers a known and an unknown address alike, before the account is looked up', async () => {
    const user = await signUp(t, { ip: freshIp() });
    const ghost = uniqueEmail('ghost');
    const perRequest = new Set(['date', 'x-request-id']);
    const answer = (res: Awaited<ReturnType<typeof send>>) => ({
      status: res.status,
      headers: [...res.headers].filter(([name]) => !perRequest.has(name)),
      body: res.body,
    });

    const locker = new pg.Client({ connectionString: t.services.config.databaseUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table users in access exclusive mode');
      // A route that looked the address up before answering would wait for the lock: it fails here.
      const known = await t.request('/api/auth/magic-link/send', {
        method: 'POST',
        headers: asBrowser(undefined, from(freshIp())),
        body: JSON.stringify({ email: user.email }),
        signal: AbortSignal.timeout(5_000),
      });
      const unknown = await t.request('/api/auth/magic-link/send', {
        method: 'POST',
        headers: asBrowser(undefined, from(freshIp())),
        body: JSON.stringify({ email: ghost }),
        signal: AbortSignal.timeout(5_000),
      });
      expect(answer(known)).toEqual(answer(unknown));
      expect(known.body).toMatchObject({ status: 200, data: { sent: true } });
      expect(linkMails(user.email)).toHaveLength(0);
    } finally {
      await locker.query('rollback').catch(() => {});
      await locker.end();
    }
    await linkIn(user.email);
    await linkIn(ghost);
  });

  it('refuses a malformed address with 400 and mails nothing', async () => {
    const res = await send('not an address');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    expect(res.body.meta.errors[0]).toMatchObject({ field: 'email', location: 'body' });
  });
});
