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
import type { Config } from './config.js';
import type { Orm } from './database.js';
import type { HealthCheck } from './health.js';
import type { Logger } from './logger.js';
import type { RateLimiter } from './rate-limit.js';
import type { Scope } from './scopes.js';

/** Long-lived, per-process dependencies. */
export interface Services {
  config: Config;
  log: Logger;
  orm: Orm;
  redis?: Redis;
  limiter: RateLimiter;
  health: HealthCheck;
  /** The current time; tests replace it to move through expiries. */
  now(): Date;
}

/** Who is calling, resolved from exactly one credential (API.md section 6). */
export interface Principal {
  kind: 'session' | 'apiKey' | 'oauth';
  userId: string;
  scopes: ReadonlySet<Scope>;
  /** An organization-pinned PAT's organization. */
  organizationId?: string;
}

export type Transport = 'rest' | 'trpc' | 'direct';

export interface Context {
  services: Services;
  em: EntityManager;
  ip: string;
  requestId: string;
  log: Logger;
  transport: Transport;
  principal: Principal | null;
  /** Present on HTTP transports; procedures only set headers on it. */
  res?: Pick<ServerResponse, 'setHeader'>;
}

export interface ContextInput {
  services: Services;
  ip?: string;
  requestId?: string;
  log?: Logger;
  transport?: Transport;
  principal?: Principal | null;
  res?: Context['res'];
}

export function createContextInner(input: ContextInput): Context {
  const requestId = input.requestId ?? randomUUID();
  return {
    services: input.services,
    em: input.services.orm.em.fork(),
    ip: input.ip ?? '127.0.0.1',
    requestId,
    log: input.log ?? input.services.log.child({ reqId: requestId }),
    transport: input.transport ?? 'direct',
    principal: input.principal ?? null,
    res: input.res,
  };
}

/** The subset of an HTTP request the context reads (Express's `req` fits). */
export interface HttpRequestLike {
  ip?: string;
  socket: { remoteAddress?: string };
  id?: unknown;
  log?: Logger;
}

export function createContext(services: Services, transport: Transport, req: HttpRequestLike, res: ServerResponse): Context {
  return createContextInner({
    services,
    // Express resolves req.ip from the socket, or from X-Forwarded-For only through TRUST_PROXY.
    ip: req.ip ?? req.socket.remoteAddress ?? 'unknown',
    requestId: typeof req.id === 'string' ? req.id : undefined,
    log: req.log,
    transport,
    res,
  });
}
