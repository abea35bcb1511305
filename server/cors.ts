/**
 * CORS for browser frontends on other origins, on /api and /trpc (the OpenID provider under
 * /api/auth/oauth2 answers for itself).
 *
 * - An origin in TRUSTED_ORIGINS may call every route with credentials (cookies): its origin is
 *   echoed with `Access-Control-Allow-Credentials: true`. These are the origins the cookie CSRF check
 *   already accepts, so the two rules agree.
 * - Any other origin may call the public routes (/api/public/…, the OpenAPI document, tRPC calls that
 *   are all `public.*`) without credentials (`Access-Control-Allow-Origin: *`), and nothing else:
 *   without the header the browser withholds the answer.
 * - A preflight (OPTIONS with Access-Control-Request-Method) is answered here, 204, before any
 *   adapter reads it, with the methods and request headers the API takes, cached for 10 minutes.
 * - Answers vary by Origin, and say so, so that no cache hands one origin's answer to another.
 * - The API's own headers (request id, rate limits, Retry-After, Idempotent-Replayed, the bearer
 *   challenge) are exposed to scripts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RATE_LIMIT_HEADERS } from './trpc.js';

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const ALLOW_HEADERS =
  'Content-Type, Authorization, X-Api-Key, X-Publishable-Key, Idempotency-Key, If-None-Match, X-Request-Id, trpc-accept, x-trpc-source';
const EXPOSE_HEADERS = [
  'X-Request-Id',
  ...RATE_LIMIT_HEADERS,
  'Retry-After',
  'Idempotent-Replayed',
  'WWW-Authenticate',
  'Location',
  'Content-Disposition',
  'ETag',
].join(', ');
const PREFLIGHT_MAX_AGE = '600';

/**
 * Whether anyone may read this route's answers: a public REST path, or a tRPC call of public
 * procedures only. `url` is below /api or /trpc.
 */
function isPublic(adapter: 'rest' | 'trpc', url: string): boolean {
  const path = url.split('?')[0] ?? '';
  if (adapter === 'trpc')
    return path
      .slice(1)
      .split(',')
      .every((name) => name.startsWith('public.'));
  return path.startsWith('/public/') || path === '/openapi.json';
}

/** Sets the CORS headers of a request to /api or /trpc; true when it answered it (a preflight). */
export function corsFor(trustedOrigins: readonly string[]) {
  const trusted = new Set(trustedOrigins);
  return (req: IncomingMessage, res: ServerResponse, adapter: 'rest' | 'trpc', url: string): boolean => {
    res.setHeader('Vary', 'Origin');
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (trusted.has(origin)) {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Access-Control-Allow-Credentials', 'true');
      } else if (isPublic(adapter, url)) {
        res.setHeader('Access-Control-Allow-Origin', '*');
      }
      res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE);
      res.statusCode = 204;
      res.end();
      return true;
    }
    return false;
  };
}
