/** What a browser without JavaScript does in the OAuth flow: a cookie jar, redirects, form posts. */
import * as oidc from 'openid-client';

export interface CookieBrowser {
  go(url: string, init?: RequestInit): Promise<Response>;
  /** Follows redirects inside the service; stops at the first one that leaves it. */
  follow(url: string, init?: RequestInit): Promise<{ res: Response; url: string }>;
  cookies: Map<string, string>;
}

/** A browser's cookie jar, just enough for one origin (`baseUrl`, the service). */
export function cookieBrowser(baseUrl: string): CookieBrowser {
  const cookies = new Map<string, string>();
  async function go(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line)) cookies.delete(name);
      else cookies.set(name, pair!.slice(eq + 1));
    }
    return res;
  }
  async function follow(url: string, init: RequestInit = {}): Promise<{ res: Response; url: string }> {
    let res = await go(url, init);
    let current = url;
    while (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location')!, current).toString();
      if (!next.startsWith(baseUrl)) return { res, url: next };
      current = next;
      res = await go(next);
    }
    return { res, url: current };
  }
  return { go, follow, cookies };
}

/** The CSRF token of a sign-in or consent page. */
export const csrfOf = (html: string): string => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

export const formPost = (b: CookieBrowser, url: string, fields: Record<string, string>) =>
  b.follow(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });

/** `Authorization: Basic` for client_secret_basic: both parts form-encoded first (RFC 6749 section 2.3.1). */
export const basicAuth = (clientId: string, secret: string): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** A form POST to a protocol endpoint (token, introspect, revoke): its status, headers and JSON body. */
export async function protocolPost(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  const text = await res.text();
  let body: Record<string, any> = {};
  try {
    body = JSON.parse(text) as Record<string, any>;
  } catch {
    // an empty answer (revocation) or not JSON: left empty
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** An authorization request URL with a fresh S256 PKCE pair and state; `undefined` drops a parameter. */
export async function authorizationRequest(authorizationEndpoint: string, params: Record<string, string | undefined>) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const all = {
    response_type: 'code',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...params,
  };
  const query = new URLSearchParams(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
  return { url: `${authorizationEndpoint}?${query}`, verifier, state };
}

/**
 * From the sign-in page the browser shows: the form, then the consent page when one is asked for, on
 * to the URL the browser is sent to outside the service (the client's callback).
 */
export async function signInAndApprove(
  b: CookieBrowser,
  page: { res: Response; url: string },
  user: { email: string; password: string },
): Promise<URL> {
  const signedIn = await formPost(b, `${page.url}/login`, {
    csrf: csrfOf(await page.res.text()),
    email: user.email,
    password: user.password,
  });
  if (signedIn.res.status !== 200) return new URL(signedIn.url);
  const approved = await formPost(b, `${signedIn.url}/confirm`, { csrf: csrfOf(await signedIn.res.text()) });
  return new URL(approved.url);
}

/** A browser already signed in (this service's session cookie) approves the consent page: where it is sent then. */
export async function approveConsent(b: CookieBrowser, authorizationUrl: string): Promise<URL> {
  const consent = await b.follow(authorizationUrl);
  return new URL((await formPost(b, `${consent.url}/confirm`, { csrf: csrfOf(await consent.res.text()) })).url);
}
