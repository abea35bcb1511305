/** The sign-in, sign-up and mail budgets, the failed-sign-in block, and timing that reveals no account. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMON_PASSWORD_COUNT, isCommonPassword } from '../../server/passwords.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { postJson, signUp, uniqueEmail } from '../support/identity.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { TRUST_PROXY: 'loopback' } });
});
afterAll(async () => {
  await t?.close();
});

const from = (ip: string) => ({ 'x-forwarded-for': ip });
const signIn = (email: string, password: string, ip: string) => postJson(t, '/api/auth/sign-in/email', { email, password }, undefined, from(ip));

describe('budgets', () => {
  it('allows 5 sign-ins a minute per IP, then 429 with Retry-After', async () => {
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await signIn(uniqueEmail(), 'whatever-password', '192.0.2.1')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const refused = await signIn(uniqueEmail(), 'whatever-password', '192.0.2.1');
    expect(refused.body).toMatchObject({ code: 'RATE_LIMIT_ERROR', message: 'Too many requests from this IP, please try again later.' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await signIn(uniqueEmail(), 'whatever-password', '192.0.2.2')).status).toBe(401);
  });

  it('allows 3 sign-ups a minute per IP', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await postJson(t, '/api/auth/sign-up/email', { email: uniqueEmail(), password: 'a fine passphrase', name: 'N' }, undefined, from('192.0.2.3'))).status);
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
  });

  it('allows 5 reset mails an hour per target address, from any IP', async () => {
    const email = uniqueEmail('reset');
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await postJson(t, '/api/auth/forgot-password', { email }, undefined, from(`192.0.2.${10 + i}`))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('blocks an email for 15 minutes after 10 failed sign-ins, even with the right password', async () => {
    const user = await signUp(t, { ip: '192.0.2.50' });
    // Spread over addresses so that only the per-email budget is in play.
    for (let i = 0; i < 10; i++) expect((await signIn(user.email, 'wrong password!', `198.18.0.${i}`)).body.code).toBe('INVALID_CREDENTIALS');
    const blocked = await signIn(user.email, user.password, '198.18.1.1');
    expect(blocked.status).toBe(429);
    expect(blocked.body.meta.retryAfter).toBeGreaterThan(14 * 60);
    expect(blocked.body.meta.retryAfter).toBeLessThanOrEqual(15 * 60);
    // Another account is unaffected.
    const other = await signUp(t, { ip: '192.0.2.51' });
    expect((await signIn(other.email, other.password, '198.18.1.2')).status).toBe(200);
  });

  it('clears the failures of an email on a successful sign-in', async () => {
    const user = await signUp(t, { ip: '192.0.2.52' });
    for (let i = 0; i < 9; i++) await signIn(user.email, 'wrong password!', `198.18.2.${i}`);
    expect((await signIn(user.email, user.password, '198.18.3.1')).status).toBe(200);
    for (let i = 0; i < 9; i++) expect((await signIn(user.email, 'wrong password!', `198.18.4.${i}`)).status).toBe(401);
    expect((await signIn(user.email, user.password, '198.18.5.1')).status).toBe(200);
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

describe('timing', () => {
  it('takes about as long for an unknown email as for a wrong password', async () => {
    const quiet = await startTestApp({ env: { RATE_LIMIT_SIGN_IN_POINTS: '10000', RATE_LIMIT_FAILED_SIGN_IN_POINTS: '10000', RATE_LIMIT_SIGN_UP_POINTS: '100' } });
    try {
      const user = await signUp(quiet);
      const time = async (email: string) => {
        const started = performance.now();
        const res = await postJson(quiet, '/api/auth/sign-in/email', { email, password: 'definitely wrong' });
        expect(res.body.code).toBe('INVALID_CREDENTIALS');
        return performance.now() - started;
      };
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 30; i++) {
        known.push(await time(user.email));
        unknown.push(await time(uniqueEmail('ghost')));
      }
      const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      const ratio = median(known) / median(unknown);
      // Both verify an argon2id hash (a dummy for the unknown email); the bound is loose on purpose.
      expect(ratio).toBeGreaterThan(0.6);
      expect(ratio).toBeLessThan(1.6);
      expect(median(unknown)).toBeGreaterThan(3);
    } finally {
      await quiet.close();
    }
  });
});
