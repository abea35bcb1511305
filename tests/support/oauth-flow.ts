/** What a browser without JavaScript does in the OAuth flow: a cookie jar, redirects, form posts. */

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
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
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
  b.follow(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
