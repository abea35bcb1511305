/**
 * The server's request listener: what every request gets first, and who answers it.
 *
 * - Every request, whichever path serves it: its client address (X-Forwarded-For only through
 *   TRUST_PROXY), its request id and log line (request-log.ts), and the security headers.
 * - /api and /trpc go straight to their adapters, on Node's own request and response: the hot path
 *   carries no framework. CORS (cors.ts) answers or annotates them first.
 * - Everything else (the OpenID provider under /api/auth/oauth2 and /.well-known, the pages the
 *   mailed links open, and the 404 for unknown paths) is Express's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { corsFor } from './cors.js';
import { requestLog } from './request-log.js';
import { setSecurityHeaders } from './security-headers.js';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
/** An adapter mounted at a prefix: `url` is the request's URL below it, query included (`/user/me?x=1`). */
export type MountedListener = (req: IncomingMessage, res: ServerResponse, url: string) => void;

declare module 'http' {
  interface IncomingMessage {
    /** The client's address, as TRUST_PROXY lets X-Forwarded-For tell it; set before any adapter runs. */
    clientIp?: string;
  }
}

export interface Listeners {
  /** REST, at /api. */
  rest: MountedListener;
  /** tRPC, at /trpc. */
  trpc: MountedListener;
  /** Everything else, with the URL as it came. */
  other: RequestListener;
}

/** Express's reading of TRUST_PROXY, for proxy-addr: a hop count, a list of addresses/CIDRs, or none. */
function trustFunction(trust: Config['trustProxy']): (address: string, hop: number) => boolean {
  if (trust === false) return () => false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return proxyaddr.compile(trust);
}

/** The part of a URL below `prefix` (`/api/user/me?x=1` below `/api` is `/user/me?x=1`); undefined when it is not below it. */
function below(prefix: string, url: string): string | undefined {
  if (!url.startsWith(prefix)) return undefined;
  const rest = url.slice(prefix.length);
  if (rest === '') return '/';
  if (rest[0] === '/') return rest;
  if (rest[0] === '?') return `/${rest}`;
  return undefined;
}

const OAUTH_PREFIX = '/auth/oauth2';

export function requestListener(
  config: Pick<Config, 'trustProxy' | 'trustedOrigins'>,
  log: Logger,
  shownPath: (path: string) => string,
  listeners: Listeners,
): RequestListener {
  const trust = trustFunction(config.trustProxy);
  const logRequest = requestLog(log, shownPath);
  const cors = corsFor(config.trustedOrigins);

  return (req, res) => {
    req.clientIp = proxyaddr(req, trust);
    logRequest(req, res);
    setSecurityHeaders(res);
    const url = req.url ?? '/';
    const api = below('/api', url);
    if (api !== undefined && below(OAUTH_PREFIX, api) === undefined) {
      if (!cors(req, res, 'rest', api)) listeners.rest(req, res, api);
      return;
    }
    const trpc = below('/trpc', url);
    if (trpc !== undefined) {
      if (!cors(req, res, 'trpc', trpc)) listeners.trpc(req, res, trpc);
      return;
    }
    listeners.other(req, res);
  };
}
