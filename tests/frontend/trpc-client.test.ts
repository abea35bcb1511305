/**
 * The README's tRPC frontend example, run as written against the service: a typed client over
 * AppRouter, sign-in that sets the session cookie, then typed calls. A browser keeps the cookie by
 * itself (credentials: 'include'); here a tiny cookie jar stands in for it.
 */
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../../procedures/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ORIGIN, PASSWORD, signUp } from '../support/identity.js';
import { defaultOrganizationId } from '../support/tenancy.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { TRUSTED_ORIGINS: ORIGIN } });
});
afterAll(async () => {
  await t?.close();
});

describe('the README tRPC client', () => {
  it('signs in and makes typed calls', async () => {
    const { email, userId } = await signUp(t);
    const organizationId = await defaultOrganizationId(t, userId);
    let cookie = '';
    const browserFetch: typeof fetch = async (url, init) => {
      const headers = new Headers(init?.headers);
      headers.set('origin', ORIGIN);
      if (cookie) headers.set('cookie', cookie);
      const res = await fetch(url, { ...init, headers });
      const session = res.headers.getSetCookie().find((c) => c.startsWith('session='));
      if (session) cookie = session.split(';')[0]!;
      return res;
    };

    // README: Frontends — begin
    const api = createTRPCClient<AppRouter>({
      links: [
        httpBatchLink({
          url: `${t.url}/trpc`,
          fetch: (url, init) => browserFetch(url, { ...init, credentials: 'include' }),
        }),
      ],
    });
    await api.auth.signInEmail.mutate({ email, password: PASSWORD }); // sets the HttpOnly session cookie
    const me = await api.user.me.get.query();
    const page = await api.tenant.projects.list.query({ organizationId, limit: 20 });
    // page: { items, total, offset, limit, hasMore }; REST sends the same as data: items, meta: { total, … }
    // README: Frontends — end

    expect(me.email).toBe(email);
    expect(page).toMatchObject({ items: [], total: 0, offset: 0, limit: 20, hasMore: false });
  });
});
