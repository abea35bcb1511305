/**
 * Where a link from mail or a federated sign-in may send the browser (no open redirect).
 *
 * - A callbackURL is parsed as the WHATWG URL parser (the browser's) reads it, relative to APP_URL, and
 *   kept only when its origin is APP_URL's or one of TRUSTED_ORIGINS, its scheme http or https, and it
 *   carries no user name or password. Everything else (another origin, `//evil.com`, a look-alike host,
 *   `javascript:`, backslashes, userinfo tricks, an unparseable string) gives way to APP_URL.
 * - The Location written is the URL as the parser serialized it, never the string as received, so no
 *   header can be smuggled in and the browser goes where the check looked.
 */
import type { Config } from '../../server/config.js';

/** The callbackURL as a URL when it is on a trusted origin; else undefined. */
export function trustedCallback(
  config: Pick<Config, 'appUrl' | 'trustedOrigins'>,
  callbackURL: string | undefined,
): URL | undefined {
  if (!callbackURL) return undefined;
  let url: URL;
  try {
    url = new URL(callbackURL, `${config.appUrl}/`);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password) return undefined;
  const trusted = url.origin === new URL(config.appUrl).origin || config.trustedOrigins.includes(url.origin);
  return trusted ? url : undefined;
}

/**
 * Where the browser goes after the link or the sign-in: the trusted callbackURL, else APP_URL, with
 * `params` added to its query (`twoFactorRequired=true`, `error=INVALID_OR_EXPIRED_TOKEN`).
 */
export function redirectLocation(
  config: Pick<Config, 'appUrl' | 'trustedOrigins'>,
  callbackURL: string | undefined,
  params: Record<string, string> = {},
): string {
  const url = trustedCallback(config, callbackURL) ?? new URL(`${config.appUrl}/`);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.href;
}
