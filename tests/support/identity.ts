/** Fixtures for signed-in callers over REST. */
import { randomBytes } from 'node:crypto';
import type { TestApp } from './app.js';

export const ORIGIN = 'http://localhost:3000';
export const PASSWORD = 'correct horse battery staple 42';

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}@example.com`;
}

/** The `name=value` of the session cookie a response set, if any. */
export function sessionCookieFrom(headers: Headers): string | undefined {
  return headers
    .getSetCookie()
    .find((c) => c.startsWith('session='))
    ?.split(';')[0];
}

/** Headers for a browser-like JSON call: the session cookie and a trusted Origin. */
export function asBrowser(cookie?: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'content-type': 'application/json', origin: ORIGIN, ...(cookie ? { cookie } : {}), ...extra };
}

export function postJson(
  t: TestApp,
  path: string,
  body: unknown,
  cookie?: string,
  headers: Record<string, string> = {},
) {
  return t.request(path, { method: 'POST', headers: asBrowser(cookie, headers), body: JSON.stringify(body) });
}

export interface SignedUp {
  email: string;
  password: string;
  cookie: string;
  userId: string;
}

/**
 * Signs a new user up over REST and returns their session cookie. The address counts as verified
 * (as if the emailed link had been used) unless `verified: false`: most suites test what a real,
 * verified user may do; the verification flow itself is tested in tests/auth/flow.test.ts.
 */
export async function signUp(
  t: TestApp,
  options: { email?: string; password?: string; name?: string; ip?: string; verified?: boolean } = {},
): Promise<SignedUp> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? PASSWORD;
  const res = await postJson(
    t,
    '/api/auth/sign-up/email',
    { email, password, name: options.name ?? 'Ada Lovelace' },
    undefined,
    options.ip ? { 'x-forwarded-for': options.ip } : {},
  );
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${JSON.stringify(res.body)}`);
  const userId: string = res.body.data.user.id;
  if (options.verified !== false) {
    await t.services.orm.em
      .fork()
      .getConnection()
      .execute('update users set verified_at = now() where id = ?', [userId]);
  }
  return { email, password, cookie: sessionCookieFrom(res.headers)!, userId };
}
