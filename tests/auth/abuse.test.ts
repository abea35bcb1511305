/**
 * The sign-in, sign-up and mail budgets, the failed-sign-in limits (atomic, per email and client with
 * an email-only ceiling), and answers that reveal no account (their timing: npm run bench:timing).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMON_PASSWORD_COUNT, isCommonPassword } from '../../server/passwords.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, postJson, signUp, uniqueEmail } from '../support/identity.js';
import { startInbox, type Inbox } from '../support/mail.js';

let t: TestApp;
let inbox: Inbox;
beforeAll(async () => {
  inbox = await startInbox();
  t = await startTestApp({ env: { TRUST_PROXY: 'loopback', SMTP_URL: inbox.url } });
});
afterAll(async () => {
  await t?.close();
  await inbox?.close();
});

const from = (ip: string) => ({ 'x-forwarded-for': ip });
const signIn = (email: string, password: string, ip: string) =>
  postJson(t, '/api/auth/sign-in/email', { email, password }, undefined, from(ip));

describe('budgets', () => {
  it('allows 5 sign-ins a minute per IP, then 429 with Retry-After', async () => {
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await signIn(uniqueEmail(), 'whatever-password', '192.0.2.1')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const refused = await signIn(uniqueEmail(), 'whatever-password', '192.0.2.1');
    expect(refused.body).toMatchObject({
      code: 'RATE_LIMIT_ERROR',
      message: 'Too many requests from this IP, please try again later.',
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await signIn(uniqueEmail(), 'whatever-password', '192.0.2.2')).status).toBe(401);
  });

  it('allows 3 sign-ups a minute per IP', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (
          await postJson(
            t,
            '/api/auth/sign-up/email',
            { email: uniqueEmail(), password: 'a fine passphrase', name: 'N' },
            undefined,
            from('192.0.2.3'),
          )
        ).status,
      );
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
  });

  it('allows 5 reset mails an hour per target address, from any IP', async () => {
    const email = uniqueEmail('reset');
    const statuses = [];
    for (let i = 0; i < 6; i++)
      statuses.push(
        (await postJson(t, '/api/auth/forgot-password', { email }, undefined, from(`192.0.2.${10 + i}`))).status,
      );
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });
});

describe('the failed sign-in budgets', () => {
  let quick: TestApp;
  beforeAll(async () => {
    quick = await startTestApp({
      env: {
        TRUST_PROXY: 'loopback',
        SMTP_URL: inbox.url,
        RATE_LIMIT_SIGN_IN_POINTS: '10000',
        RATE_LIMIT_SIGN_UP_POINTS: '100',
        RATE_LIMIT_GLOBAL_POINTS: '100000',
        RATE_LIMIT_FAILED_SIGN_IN_EMAIL_POINTS: '30',
      },
    });
  });
  afterAll(async () => {
    await quick?.close();
  });

  const guess = (email: string, password: string, ip: string) =>
    postJson(quick, '/api/auth/sign-in/email', { email, password }, undefined, from(ip));
  /** How many guesses reached the password check: each is a 'wrong-password' row of the sign-in history. */
  const checked = async (userId: string) =>
    Number(
      (
        await quick.services.orm.em
          .fork()
          .getConnection()
          .execute<{ n: string }[]>(
            `select count(*) as n from login_history where user_id = ? and reason = 'wrong-password'`,
            [userId],
          )
      )[0]!.n,
    );

  it('blocks an email for 15 minutes after 10 failed sign-ins from one client, even with the right password', async () => {
    const user = await signUp(quick, { ip: '192.0.2.50' });
    for (let i = 0; i < 10; i++)
      expect((await guess(user.email, 'wrong password!', '198.18.0.1')).body.code).toBe('INVALID_CREDENTIALS');
    const blocked = await guess(user.email, user.password, '198.18.0.1');
    expect(blocked.status).toBe(429);
    expect(blocked.body.meta.retryAfter).toBeGreaterThan(14 * 60);
    expect(blocked.body.meta.retryAfter).toBeLessThanOrEqual(15 * 60);
    // Another account is unaffected.
    const other = await signUp(quick, { ip: '192.0.2.51' });
    expect((await guess(other.email, other.password, '198.18.0.1')).status).toBe(200);
  });

  it('does not let someone else’s failures lock the owner out: the block is per email and client', async () => {
    const victim = await signUp(quick, { ip: '192.0.2.53' });
    for (let i = 0; i < 12; i++) await guess(victim.email, 'attacker guess!', '203.0.113.66');
    expect((await guess(victim.email, victim.password, '203.0.113.66')).status).toBe(429);
    expect((await guess(victim.email, victim.password, '198.51.100.7')).status).toBe(200);
  });

  it('clears the failures of an email on a successful sign-in', async () => {
    const user = await signUp(quick, { ip: '192.0.2.52' });
    for (let i = 0; i < 9; i++) await guess(user.email, 'wrong password!', '198.18.2.1');
    expect((await guess(user.email, user.password, '198.18.2.1')).status).toBe(200);
    for (let i = 0; i < 9; i++) expect((await guess(user.email, 'wrong password!', '198.18.2.1')).status).toBe(401);
    expect((await guess(user.email, user.password, '198.18.2.1')).status).toBe(200);
  });

  it('checks at most 10 of 100 concurrent wrong guesses from one client (/64) against the password', async () => {
    const user = await signUp(quick);
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        guess(user.email, `wrong guess ${i}`, `2001:db8:5:6::${(i + 1).toString(16)}`),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(90);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    expect(await checked(user.userId)).toBeLessThanOrEqual(10);
  });

  it('checks at most the email-only ceiling (30 here) of 100 concurrent guesses spread over 100 hosts', async () => {
    const user = await signUp(quick);
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        guess(user.email, `wrong guess ${i}`, `198.19.${Math.floor(i / 200)}.${(i % 200) + 1}`),
      ),
    );
    expect(answers.filter((a) => a.status === 401).length).toBeLessThanOrEqual(30);
    expect(await checked(user.userId)).toBeLessThanOrEqual(30);
    // The owner, locked out by the ceiling, gets back in through the emailed reset link.
    expect((await guess(user.email, user.password, '192.0.2.200')).status).toBe(429);
    expect(
      (await postJson(quick, '/api/auth/forgot-password', { email: user.email }, undefined, from('192.0.2.200')))
        .status,
    ).toBe(200);
    const token = await inbox.tokenFor(user.email, /Reset/);
    expect(
      (
        await postJson(
          quick,
          '/api/auth/reset-password',
          { token, password: 'my own new passphrase' },
          undefined,
          from('192.0.2.200'),
        )
      ).status,
    ).toBe(200);
    expect((await guess(user.email, 'my own new passphrase', '192.0.2.200')).status).toBe(200);
  });
});

describe('mail budgets', () => {
  it('keys the per-address budget by kind of mail: flooding one kind leaves the other, and the owner holds a working link', async () => {
    const user = await signUp(t, { ip: '192.0.2.60' });
    for (let i = 0; i < 5; i++)
      expect(
        (
          await postJson(
            t,
            '/api/auth/send-verification-email',
            { email: user.email },
            undefined,
            from(`198.18.9.${i}`),
          )
        ).status,
      ).toBe(200);
    expect(
      (await postJson(t, '/api/auth/send-verification-email', { email: user.email }, undefined, from('198.18.9.9')))
        .status,
    ).toBe(429);
    for (let i = 0; i < 5; i++)
      expect(
        (await postJson(t, '/api/auth/forgot-password', { email: user.email }, undefined, from(`198.18.10.${i}`)))
          .status,
      ).toBe(200);
    expect(
      (await postJson(t, '/api/auth/forgot-password', { email: user.email }, undefined, from('198.18.10.9'))).status,
    ).toBe(429);
    // Whoever spent the budget delivered five reset links to the owner; the last one issued works.
    const resets = () =>
      inbox.messages.filter((m) => JSON.stringify(m.to ?? '').includes(user.email) && /Reset/.test(m.subject ?? ''));
    await expect.poll(() => resets().length, { timeout: 10_000 }).toBe(5);
    const tokens = resets().map((m) => /[?&]token=([A-Za-z0-9_-]+)/.exec(m.text ?? '')![1]!);
    const answers = [];
    for (const token of tokens)
      answers.push(
        (
          await postJson(
            t,
            '/api/auth/reset-password',
            { token, password: 'reset by the owner 1' },
            undefined,
            from('192.0.2.61'),
          )
        ).status,
      );
    expect(answers.filter((status) => status === 200)).toHaveLength(1);
  });
});

describe('common passwords', () => {
  it('ships a list of at least 10,000 and refuses them', () => {
    expect(COMMON_PASSWORD_COUNT).toBeGreaterThanOrEqual(10_000);
    expect(isCommonPassword('password123')).toBe(true);
    expect(isCommonPassword('Qwerty123')).toBe(true);
    expect(isCommonPassword('correct horse battery staple 42')).toBe(false);
  });
});

/**
 * Answers that reveal no account. Whether they also take the same time is measured, not tested:
 * `npm run bench:timing` (bench/timing.ts) prints the known/unknown ratios. Here: what makes them so.
 */
describe('answers that reveal no account', () => {
  it('answers an unknown email exactly as a wrong password: the same status, headers and body', async () => {
    const user = await signUp(t, { ip: '198.51.100.70' });
    // From two fresh clients, so that each spends the same budgets from full.
    const wrongPassword = await signIn(user.email, 'definitely wrong', '198.51.100.71');
    const unknownEmail = await signIn(uniqueEmail('ghost'), 'definitely wrong', '198.51.100.72');
    const perRequest = new Set(['date', 'x-request-id']);
    const answer = (res: Awaited<ReturnType<typeof signIn>>) => ({
      status: res.status,
      headers: [...res.headers].filter(([name]) => !perRequest.has(name)),
      body: { ...res.body, meta: { ...res.body.meta, requestId: 'per request' } },
    });
    expect(answer(wrongPassword)).toEqual(answer(unknownEmail));
    expect(answer(unknownEmail)).toMatchObject({
      status: 401,
      body: { code: 'INVALID_CREDENTIALS', message: 'Invalid email or password' },
    });
    expect(wrongPassword.headers.get('x-request-id')).not.toBe(unknownEmail.headers.get('x-request-id'));
  });

  it('forgot-password and send-verification-email answer before the account is looked up, then mail a known address only', async () => {
    const user = await signUp(t, { verified: false, ip: '198.51.100.73' });
    const ghost = uniqueEmail('ghost');
    await inbox.waitFor(user.email, /Verify/); // the sign-up's own verification mail
    await t.services.mailer.idle();
    const mailsTo = (email: string, subject: RegExp) =>
      inbox.messages.filter(
        (m) =>
          [m.to]
            .flat()
            .flatMap((a) => a?.value ?? [])
            .some((v) => v.address?.toLowerCase() === email.toLowerCase()) && subject.test(m.subject ?? ''),
      ).length;
    const verificationsBefore = mailsTo(user.email, /Verify/);

    // With the users table locked by another transaction, any query on it waits: a route that looked
    // the address up before answering could not answer until the lock is released.
    const locker = new pg.Client({ connectionString: t.services.config.databaseUrl });
    await locker.connect();
    const waitingOnUsers = async () =>
      Number(
        (
          await t.services.orm.em
            .fork()
            .getConnection()
            .execute<{ n: string }[]>(
              `select count(*) as n from pg_locks where relation = 'users'::regclass and not granted`,
            )
        )[0]!.n,
      );
    try {
      await locker.query('begin');
      await locker.query('lock table users in access exclusive mode');
      const answers = [];
      let client = 80;
      for (const path of ['/api/auth/forgot-password', '/api/auth/send-verification-email'])
        for (const email of [user.email, ghost]) {
          const res = await t.request(path, {
            method: 'POST',
            headers: asBrowser(undefined, from(`198.51.100.${client++}`)),
            body: JSON.stringify({ email }),
            // A regression that looks the address up first waits for the lock: it fails here, not hangs.
            signal: AbortSignal.timeout(5_000),
          });
          answers.push({ path, email, status: res.status, data: res.body.data });
        }
      expect(answers).toEqual([
        { path: '/api/auth/forgot-password', email: user.email, status: 200, data: { sent: true } },
        { path: '/api/auth/forgot-password', email: ghost, status: 200, data: { sent: true } },
        { path: '/api/auth/send-verification-email', email: user.email, status: 200, data: { sent: true } },
        { path: '/api/auth/send-verification-email', email: ghost, status: 200, data: { sent: true } },
      ]);
      // The four lookups, known address and unknown alike, run after the answers: they wait for the lock.
      await expect.poll(waitingOnUsers, { timeout: 10_000 }).toBe(4);
      expect(mailsTo(user.email, /Reset/)).toBe(0);
    } finally {
      await locker.query('rollback').catch(() => {});
      await locker.end();
    }

    await inbox.waitFor(user.email, /Reset/);
    await t.services.mailer.idle();
    expect(mailsTo(user.email, /Reset/)).toBe(1);
    expect(mailsTo(user.email, /Verify/)).toBe(verificationsBefore + 1);
    expect(mailsTo(ghost, /./)).toBe(0);
  });
});
