import { z } from 'zod';

export const MAX_ALLOWED_ORIGINS = 20;

/**
 * A web origin as browsers send it in `Origin`: `scheme://host[:port]`, http or https, host
 * lower-cased, default port dropped (`HTTPS://Example.com:443` is `https://example.com`). Nothing
 * else: no path, query, fragment or credentials.
 */
export const WebOrigin = z
  .string()
  .max(2048, 'Must be at most 2048 characters')
  .transform((value, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    const bare =
      url &&
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.username === '' &&
      url.password === '' &&
      url.search === '' &&
      url.hash === '' &&
      url.pathname === '/';
    if (!url || !bare) {
      ctx.addIssue({ code: 'custom', message: 'Must be an origin: http(s)://host[:port], nothing after it' });
      return z.NEVER;
    }
    return url.origin;
  });

/** A project's allowed origins: at most 20, normalised, duplicates dropped; empty allows any origin. */
export const AllowedOrigins = z
  .array(WebOrigin)
  .max(MAX_ALLOWED_ORIGINS, `At most ${MAX_ALLOWED_ORIGINS} origins`)
  .transform((origins) => [...new Set(origins)]);
