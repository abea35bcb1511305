/**
 * The pages the links in mail open when no frontend is configured: /verify-email, /reset-password
 * and /invites/accept. A browser without JavaScript follows the link read from the .eml file as
 * written, gets a form, and completes the action by posting it; the API's rules and messages apply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberSchema } from '../../entities/organization.js';
import { UserSchema } from '../../entities/user.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, ORIGIN, PASSWORD, postJson, signUp, uniqueEmail } from '../support/identity.js';
import { linksInMailFile } from '../support/mail.js';
import { freePort } from '../support/net.js';
import { cookieBrowser, csrfOf, type CookieBrowser } from '../support/oauth-flow.js';
import { defaultOrganizationId } from '../support/tenancy.js';

const NEW_PASSWORD = 'a brand new passphrase 7';
let t: TestApp;

beforeAll(async () => {
  const port = await freePort();
  // BASE_URL is where the test server listens, so the links in mail (APP_URL defaults to it) reach it;
  // the API calls of the fixtures come from ORIGIN.
  t = await startTestApp({
    port,
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      TRUSTED_ORIGINS: `http://127.0.0.1:${port},${ORIGIN}`,
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      RATE_LIMIT_SIGN_IN_POINTS: '100',
      RATE_LIMIT_EMAIL_SEND_POINTS: '100',
    },
  });
});
afterAll(async () => {
  await t?.close();
});

const db = () => t.services.orm.em.fork();
const browser = () => cookieBrowser(t.url);

/** The one link of the newest mail to `to`, as written in its .eml file. */
async function mailedLink(to: string, subject: RegExp): Promise<string> {
  await t.services.mailer.idle();
  const links = await linksInMailFile(t.services.config.mailDir, to, subject);
  expect(links).toHaveLength(1);
  return links[0]!;
}

/** A form post as a browser makes it: form-encoded, with this origin. */
const submit = (b: CookieBrowser, path: string, fields: Record<string, string>) =>
  b.follow(`${t.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url },
    body: new URLSearchParams(fields).toString(),
  });

/** Opens a page: its status, headers and HTML. */
async function open(b: CookieBrowser, url: string) {
  const { res } = await b.follow(url);
  return { status: res.status, headers: res.headers, html: await res.text() };
}

async function posted(b: CookieBrowser, path: string, fields: Record<string, string>) {
  const { res } = await submit(b, path, fields);
  return { status: res.status, headers: res.headers, html: await res.text() };
}

const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;

function expectProtectedPage(page: { headers: Headers; html: string }) {
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("form-action 'self'");
  expect(csp).toContain("default-src 'none'");
  expect(csp).not.toMatch(/script-src/);
  expect(page.headers.get('cache-control')).toBe('no-store');
  // Forms must post with an Origin (the API's cookie check), which no-referrer would make `null`; the token in the URL stays here.
  expect(page.headers.get('referrer-policy')).toBe('strict-origin');
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(page.html).not.toContain('<script');
}

describe('each page, opened from its link', () => {
  it.each(['/verify-email', '/reset-password', '/invites/accept'])(
    'GET %s renders a protected form with a CSRF token, and acts on nothing',
    async (path) => {
      const b = browser();
      const page = await open(b, `${t.url}${path}?token=some-token`);
      expect(page.status).toBe(200);
      expectProtectedPage(page);
      expect(page.html).toContain('<form method="post"');
      expect(csrfOf(page.html)).toMatch(/^[\w-]{20,}$/);
      // The token is bound to a cookie of this browser: the page opened again (another tab) has the same.
      expect(b.cookies.size).toBeGreaterThan(0);
      expect(csrfOf((await open(b, `${t.url}${path}?token=some-token`)).html)).toBe(csrfOf(page.html));
    },
  );

  it('says what is wrong with a link that has no token', async () => {
    const page = await open(browser(), `${t.url}/verify-email`);
    expect(page.status).toBe(400);
    expectProtectedPage(page);
    expect(page.html).toMatch(/no token/);
  });
});

describe('verify-email', () => {
  it('verifies the address only once the form is posted', async () => {
    const user = await signUp(t, { verified: false });
    const link = await mailedLink(user.email, /Verify/);
    expect(link.startsWith(`${t.url}/verify-email?token=`)).toBe(true);
    const b = browser();
    const page = await open(b, link);
    expect(page.status).toBe(200);
    // Opening the link (a mail scanner does) changes nothing.
    expect((await db().findOneOrFail(UserSchema, { id: user.userId })).verifiedAt).toBeNull();

    const done = await posted(b, '/verify-email', { csrf: csrfOf(page.html), token: tokenOf(link) });
    expect(done.status).toBe(200);
    expectProtectedPage(done);
    expect(done.html).toContain(user.email);
    expect((await db().findOneOrFail(UserSchema, { id: user.userId })).verifiedAt).not.toBeNull();

    // Used once: the same form again gets the API's message.
    const again = await posted(b, '/verify-email', { csrf: csrfOf(page.html), token: tokenOf(link) });
    expect(again.status).toBe(401);
    expect(again.html).toContain('This link is invalid, expired or already used; request a new one');
  });

  it('refuses a post without the CSRF token, with a wrong one, or without the cookie it is bound to', async () => {
    const user = await signUp(t, { verified: false });
    const link = await mailedLink(user.email, /Verify/);
    const b = browser();
    const csrf = csrfOf((await open(b, link)).html);
    const other = browser();
    const othersCsrf = csrfOf((await open(other, link)).html);
    expect(othersCsrf).not.toBe(csrf);

    const attempts: Record<string, string>[] = [
      { token: tokenOf(link) },
      { csrf: othersCsrf, token: tokenOf(link) },
      { csrf: 'x', token: tokenOf(link) },
    ];
    for (const fields of attempts) {
      const refused = await posted(b, '/verify-email', fields);
      expect(refused.status).toBe(403);
      expectProtectedPage(refused);
    }
    const cookieless = await posted(browser(), '/verify-email', { csrf, token: tokenOf(link) });
    expect(cookieless.status).toBe(403);
    expect((await db().findOneOrFail(UserSchema, { id: user.userId })).verifiedAt).toBeNull();
  });

  it('answers an unknown token with the API message and status, never a 500', async () => {
    const b = browser();
    const csrf = csrfOf((await open(b, `${t.url}/verify-email?token=nope`)).html);
    const page = await posted(b, '/verify-email', { csrf, token: 'nope' });
    expect(page.status).toBe(401);
    expectProtectedPage(page);
    expect(page.html).toContain('This link is invalid, expired or already used; request a new one');

    const nul = await posted(b, '/verify-email', { csrf, token: 'a\u0000b' });
    expect(nul.status).toBe(400);
    expect(nul.html).toContain('NUL');

    const huge = await posted(b, '/verify-email', { csrf, token: 'x'.repeat(40_000) });
    expect(huge.status).toBe(400);
    expectProtectedPage(huge);
  });
});

describe('reset-password', () => {
  it('sets the new password, ends the old sessions, and explains a weak password first', async () => {
    const user = await signUp(t);
    expect((await postJson(t, '/api/auth/forgot-password', { email: user.email })).status).toBe(200);
    const link = await mailedLink(user.email, /Reset/);
    const b = browser();
    const page = await open(b, link);
    expect(page.status).toBe(200);
    expect(page.html).toContain('type="password"');
    const csrf = csrfOf(page.html);

    const weak = await posted(b, '/reset-password', { csrf, token: tokenOf(link), password: 'password' });
    expect(weak.status).toBe(400);
    expect(weak.html).toMatch(/Invalid password: (Must be at least 8 characters|Is too common)/);
    expect(weak.html).toContain('type="password"');

    const done = await posted(b, '/reset-password', {
      csrf: csrfOf(weak.html),
      token: tokenOf(link),
      password: NEW_PASSWORD,
    });
    expect(done.status).toBe(200);
    expectProtectedPage(done);
    expect((await t.request('/api/user/me', { headers: asBrowser(user.cookie) })).status).toBe(401);
    expect((await postJson(t, '/api/auth/sign-in/email', { email: user.email, password: PASSWORD })).status).toBe(401);
    expect((await postJson(t, '/api/auth/sign-in/email', { email: user.email, password: NEW_PASSWORD })).status).toBe(
      200,
    );

    const again = await posted(b, '/reset-password', {
      csrf,
      token: tokenOf(link),
      password: 'yet another passphrase 9',
    });
    expect(again.status).toBe(401);
    expect(again.html).toContain('This link is invalid, expired or already used; request a new one');
    expect(again.html).not.toContain('type="password"');
  });

  it('refuses a post with a wrong CSRF token', async () => {
    const b = browser();
    await open(b, `${t.url}/reset-password?token=whatever`);
    const refused = await posted(b, '/reset-password', { csrf: 'wrong', token: 'whatever', password: NEW_PASSWORD });
    expect(refused.status).toBe(403);
  });
});

describe('invites/accept', () => {
  async function invitation() {
    const boss = await signUp(t, { email: uniqueEmail('owner') });
    const organizationId = await defaultOrganizationId(t, boss.userId);
    const invitee = await signUp(t, { email: uniqueEmail('invitee') });
    const res = await postJson(
      t,
      `/api/user/organizations/${organizationId}/invites`,
      { email: invitee.email, role: 'admin' },
      boss.cookie,
    );
    expect(res.status).toBe(201);
    return { organizationId, invitee, link: await mailedLink(invitee.email, /invited/) };
  }

  it('asks to sign in, signs in on the page, then accepts: a membership', async () => {
    const { organizationId, invitee, link } = await invitation();
    expect(link.startsWith(`${t.url}/invites/accept?token=`)).toBe(true);
    const b = browser();
    const signIn = await open(b, link);
    expect(signIn.status).toBe(200);
    expect(signIn.html).toMatch(/[Ss]ign in/);
    expect(signIn.html).toContain('type="password"');

    const wrong = await posted(b, '/invites/accept/sign-in', {
      csrf: csrfOf(signIn.html),
      token: tokenOf(link),
      email: invitee.email,
      password: 'not the password',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('Invalid email or password');

    // Signed in, the browser is sent back to the invitation, which now offers to accept it.
    const ready = await posted(b, '/invites/accept/sign-in', {
      csrf: csrfOf(wrong.html),
      token: tokenOf(link),
      email: invitee.email,
      password: invitee.password,
    });
    expect(ready.status).toBe(200);
    expect(b.cookies.get('session')).toBeTruthy();
    expect(ready.html).toContain(invitee.email);
    expect(ready.html).toContain('Accept');
    expect(await db().count(MemberSchema, { organizationId, userId: invitee.userId })).toBe(0);

    const done = await posted(b, '/invites/accept', { csrf: csrfOf(ready.html), token: tokenOf(link) });
    expect(done.status).toBe(200);
    expectProtectedPage(done);
    expect(await db().findOne(MemberSchema, { organizationId, userId: invitee.userId })).toMatchObject({
      role: 'admin',
    });

    const again = await posted(b, '/invites/accept', { csrf: csrfOf(ready.html), token: tokenOf(link) });
    expect(again.status).toBe(404);
    expect(again.html).toContain('This invitation is invalid, expired or no longer pending');
  });

  it('offers the accept button straight away to a signed-in browser', async () => {
    const { organizationId, invitee, link } = await invitation();
    const b = browser();
    b.cookies.set('session', invitee.cookie.split('=')[1]!);
    const page = await open(b, link);
    expect(page.html).toContain(invitee.email);
    const done = await posted(b, '/invites/accept', { csrf: csrfOf(page.html), token: tokenOf(link) });
    expect(done.status).toBe(200);
    expect(await db().count(MemberSchema, { organizationId, userId: invitee.userId })).toBe(1);
  });

  it('without a session, a post says to sign in; with a wrong CSRF token it is refused', async () => {
    const { organizationId, invitee, link } = await invitation();
    const b = browser();
    const csrf = csrfOf((await open(b, link)).html);
    const anonymous = await posted(b, '/invites/accept', { csrf, token: tokenOf(link) });
    expect(anonymous.status).toBe(401);
    expect(anonymous.html).toContain('type="password"');

    b.cookies.set('session', invitee.cookie.split('=')[1]!);
    const attempts: Record<string, string>[] = [{ token: tokenOf(link) }, { csrf: 'wrong', token: tokenOf(link) }];
    for (const fields of attempts) {
      expect((await posted(b, '/invites/accept', fields)).status).toBe(403);
    }
    expect(await db().count(MemberSchema, { organizationId, userId: invitee.userId })).toBe(0);
  });
});

describe('rate limits', () => {
  it('the sign-in form on the invitation page spends the API sign-in budget', async () => {
    const port = await freePort();
    const strict = await startTestApp({
      port,
      env: { BASE_URL: `http://127.0.0.1:${port}`, RATE_LIMIT_SIGN_IN_POINTS: '1' },
    });
    try {
      expect(
        (await postJson(strict, '/api/auth/sign-in/email', { email: 'nobody@example.com', password: 'whatever it is' }))
          .status,
      ).toBe(401);
      const b = cookieBrowser(strict.url);
      const { res } = await b.follow(`${strict.url}/invites/accept?token=x`);
      const form = {
        csrf: csrfOf(await res.text()),
        token: 'x',
        email: 'nobody@example.com',
        password: 'whatever it is',
      };
      const limited = await b.follow(`${strict.url}/invites/accept/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: strict.url },
        body: new URLSearchParams(form).toString(),
      });
      expect(limited.res.status).toBe(429);
      expect(limited.res.headers.get('retry-after')).toBeTruthy();
      expect(await limited.res.text()).toContain('Too many requests');
    } finally {
      await strict.close();
    }
  });
});

describe('with a frontend configured (APP_URL on another origin)', () => {
  it('serves none of the pages: the links lead to the frontend', async () => {
    const withFrontend = await startTestApp({
      env: { APP_URL: 'https://app.example.com', RATE_LIMIT_EMAIL_SEND_POINTS: '100' },
    });
    try {
      for (const path of ['/verify-email?token=x', '/reset-password?token=x', '/invites/accept?token=x']) {
        const res = await withFrontend.request(path);
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('NOT_FOUND');
        expect((await withFrontend.request(path, { method: 'POST' })).status).toBe(404);
      }
      const user = await signUp(withFrontend, { verified: false });
      await withFrontend.services.mailer.idle();
      expect(await linksInMailFile(withFrontend.services.config.mailDir, user.email)).toEqual([
        expect.stringMatching(/^https:\/\/app\.example\.com\/verify-email\?token=/),
      ]);
    } finally {
      await withFrontend.close();
    }
  });
});
