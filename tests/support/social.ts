/**
 * A browser-like client for social and SSO redirect flows, without a browser: a cookie jar for the
 * app's cookies (the flow's browser binding, the session, the two-factor challenge), redirects not
 * followed, so that a test sees each Location and Set-Cookie.
 *
 *   const b = flowBrowser(t);
 *   const toProvider = await b.get('/api/auth/social/google?callbackURL=...');   // 303, binding cookie kept
 *   const answer = await upstream.signIn(toProvider.location!, 'sub-1');
 *   const signedIn = await b.get(answer);                                        // 303, session cookie kept
 */
import type { TestApp } from './app.js';

export interface FlowResponse {
  status: number;
  location: string | undefined;
  headers: Headers;
  body: any;
}

export interface FlowBrowser {
  /** GETs a path or an absolute URL of the app (only its path and query are used), keeping cookies. */
  get(url: string | URL, headers?: Record<string, string>): Promise<FlowResponse>;
  cookies: Map<string, string>;
  cookieHeader(): string;
}

export function flowBrowser(t: TestApp, headers: Record<string, string> = {}): FlowBrowser {
  const cookies = new Map<string, string>();
  const cookieHeader = () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  return {
    cookies,
    cookieHeader,
    async get(url, extra = {}) {
      const target = new URL(url, t.url);
      const response = await fetch(`${t.url}${target.pathname}${target.search}`, {
        redirect: 'manual',
        headers: { ...headers, ...extra, ...(cookies.size ? { cookie: cookieHeader() } : {}) },
      });
      for (const line of response.headers.getSetCookie()) {
        const pair = line.split(';')[0] ?? '';
        const at = pair.indexOf('=');
        const name = pair.slice(0, at).trim();
        const value = pair.slice(at + 1).trim();
        if (!value || /max-age=0(;|$)/i.test(line)) cookies.delete(name);
        else cookies.set(name, value);
      }
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      return {
        status: response.status,
        location: response.headers.get('location') ?? undefined,
        headers: response.headers,
        body,
      };
    },
  };
}

/** Rows a federated failure must not create: users, linked accounts, sessions, memberships. */
export async function rowCounts(t: TestApp): Promise<Record<'users' | 'accounts' | 'sessions' | 'members', number>> {
  const [row] = await t.services.orm.em
    .fork()
    .getConnection()
    .execute<{ users: string; accounts: string; sessions: string; members: string }[]>(
      `select (select count(*) from users) as users, (select count(*) from accounts) as accounts,
              (select count(*) from sessions) as sessions, (select count(*) from members) as members`,
    );
  return {
    users: Number(row?.users),
    accounts: Number(row?.accounts),
    sessions: Number(row?.sessions),
    members: Number(row?.members),
  };
}
