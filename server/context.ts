/**
 * The request context every procedure receives.
 *
 * `createContextInner` needs no HTTP request: tests and jobs build a context from the services and,
 * optionally, a principal. `createContext` is what the HTTP adapters call.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { AccessTokenVerifier } from './auth/bearer.js';
import { resolveCredentials, type AuthResult, type Principal, type RequestCredentials } from './auth/credentials.js';
import type { Config } from './config.js';
import type { Orm } from './database.js';
import type { HealthCheck } from './health.js';
import type { Logger } from './logger.js';
import type { Mailer } from './mail.js';
import type { CredentialCache } from './auth/credential-cache.js';
import type { Encrypter } from './secrets.js';
import type Stripe from 'stripe';
import { parseIp, type RateLimiter, type RateLimitResult } from './rate-limit.js';

/** Long-lived, per-process dependencies. */
export interface Services {
  config: Config;
  log: Logger;
  orm: Orm;
  redis?: Redis;
  limiter: RateLimiter;
  health: HealthCheck;
  mailer: Mailer;
  /** Verifies OAuth access tokens (bearer credentials). */
  accessTokens?: AccessTokenVerifier;
  credentialCache: CredentialCache;
  /** AES-256-GCM under ENCRYPTION_KEY (TOTP secrets) and keys derived from it. */
  encrypter: Encrypter;
  /** The Stripe SDK's client; absent when STRIPE_SECRET_KEY is unset (server/stripe.ts). */
  stripe?: Stripe;
  /** The current time; tests replace it to move through expiries. */
  now(): Date;
}

export type Transport = 'rest' | 'trpc' | 'direct';

export type { Principal };

export interface Context {
  services: Services;
  em: EntityManager;
  ip: string;
  userAgent: string;
  requestId: string;
  log: Logger;
  transport: Transport;
  /** Resolves the request's credential once (memoised); the base guard runs it beside the limiter. */
  authenticate(): Promise<AuthResult>;
  /** Filled by the base guard on tiers that read credentials. */
  principal: Principal | null;
  /** Why a present credential was refused; thrown by the tiers that need a principal. */
  authError?: AuthResult['error'];
  /** The request's Cookie header (HTTP transports, or a direct call that passes credentials). */
  cookieHeader?: string;
  /** Set-Cookie values issued by this call (also sent on HTTP transports). */
  cookies: string[];
  /**
   * What the public tier reads of the request besides its input: the X-Publishable-Key header
   * (`pk_…`, which names a project, not a person) and the Origin header of a browser's call.
   */
  publishableKey?: string;
  origin?: string;
  setCookie(value: string): void;
  /** Present on HTTP transports; procedures only set headers on it. */
  res?: Pick<ServerResponse, 'setHeader' | 'appendHeader'>;
  /**
   * The global budget as the HTTP adapter spent it when the request's headers arrived (before its
   * body was read); the guard then does not spend it again. Absent on direct calls.
   */
  globalBudget?: RateLimitResult;
}

export interface ContextInput {
  services: Services;
  ip?: string;
  userAgent?: string;
  requestId?: string;
  /** The request's logger, or how to get it (made on first use). */
  log?: Logger | (() => Logger);
  transport?: Transport;
  /** A principal decided by the caller (jobs, tests); skips credential resolution. */
  principal?: Principal | null;
  /** The credentials of an HTTP request, or of a direct call that wants them resolved. */
  credentials?: RequestCredentials;
  res?: Context['res'];
  globalBudget?: RateLimitResult;
  publishableKey?: string;
  origin?: string;
  /**
   * Runs inside every transaction the request's EntityManager commits, just before COMMIT, so that
   * what it writes commits with the procedure's own writes or not at all (the REST adapter marks an
   * Idempotency-Key this way). Throwing rolls the transaction back.
   */
  beforeCommit?: (em: EntityManager, transaction: unknown) => Promise<void>;
}

/** The request's EntityManager: a fork of the ORM's, with the beforeCommit hook when there is one. */
function forkFor(input: ContextInput): EntityManager {
  const { beforeCommit } = input;
  if (!beforeCommit) return input.services.orm.em.fork();
  // An event manager of its own, so that the hook sees this request's transactions only.
  const em = input.services.orm.em.fork({ freshEventManager: true });
  em.getEventManager().registerSubscriber({
    beforeTransactionCommit: ({ em: inTransaction, transaction }) =>
      beforeCommit(inTransaction as EntityManager, transaction),
  });
  return em;
}

export function createContextInner(input: ContextInput): Context {
  const requestId = input.requestId ?? randomUUID();
  // Forked on first use: routes that never touch the database skip the allocation.
  let em: EntityManager | undefined;
  const getEm = () => (em ??= forkFor(input));
  let auth: Promise<AuthResult> | undefined;
  const cookies: string[] = [];
  let log: Logger | undefined;
  return {
    services: input.services,
    get em() {
      return getEm();
    },
    ip: input.ip ?? '127.0.0.1',
    userAgent: input.userAgent ?? '',
    requestId,
    get log() {
      log ??=
        typeof input.log === 'function' ? input.log() : (input.log ?? input.services.log.child({ reqId: requestId }));
      return log;
    },
    transport: input.transport ?? 'direct',
    authenticate() {
      auth ??=
        input.principal !== undefined
          ? Promise.resolve(input.principal ? { principal: input.principal } : { principal: null })
          : input.credentials
            ? resolveCredentials(
                {
                  config: input.services.config,
                  em: getEm(),
                  credentialCache: input.services.credentialCache,
                  now: input.services.now(),
                  log: input.services.log,
                  accessTokens: input.services.accessTokens,
                },
                input.credentials,
              )
            : Promise.resolve({ principal: null });
      return auth;
    },
    principal: null,
    cookieHeader: input.credentials?.cookie,
    cookies,
    publishableKey: input.publishableKey,
    origin: input.origin ?? input.credentials?.origin,
    setCookie(value) {
      cookies.push(value);
      input.res?.appendHeader('Set-Cookie', value);
    },
    res: input.res,
    globalBudget: input.globalBudget,
  };
}

/** The subset of an HTTP request the context reads (Node's and Express's `req` fit). */
export interface HttpRequestLike {
  clientIp?: string;
  method?: string;
  headers: Record<string, string | string[] | undefined>;
  socket: { remoteAddress?: string };
  id?: unknown;
  log?: Logger;
}

const header = (req: HttpRequestLike, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

/**
 * The client's IP. The request listener (server/http.ts) resolves `req.clientIp` from the socket, or
 * from X-Forwarded-For only through TRUST_PROXY, but takes a forwarded value as written: it is
 * reduced to a bare IP here, and one that is no IP at all gives way to the socket's address, so that
 * a client cannot pick its own budget.
 */
export function clientAddress(req: HttpRequestLike): string {
  return parseIp(req.clientIp) ?? parseIp(req.socket.remoteAddress) ?? 'unknown';
}

export function createContext(
  services: Services,
  transport: Transport,
  req: HttpRequestLike,
  res: ServerResponse | undefined,
  globalBudget?: RateLimitResult,
  beforeCommit?: ContextInput['beforeCommit'],
): Context {
  return createContextInner({
    services,
    ip: clientAddress(req),
    userAgent: header(req, 'user-agent') ?? '',
    requestId: typeof req.id === 'string' ? req.id : undefined,
    log: () => req.log ?? services.log,
    transport,
    credentials: {
      method: req.method ?? 'GET',
      cookie: header(req, 'cookie'),
      authorization: header(req, 'authorization'),
      apiKey: header(req, 'x-api-key'),
      origin: header(req, 'origin'),
    },
    publishableKey: header(req, 'x-publishable-key'),
    res,
    globalBudget,
    beforeCommit,
  });
}
