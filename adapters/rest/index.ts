/**
 * The REST facade at /api: each request is matched once against the route table (routes.ts), its
 * input assembled by the route's compiled rules (input.ts), its procedure called through the router's
 * caller with the request's context, and its answer written once as the envelope.
 *
 * - Unknown path: 404 NOT_FOUND; known path, other method: 405 METHOD_NOT_ALLOWED with Allow.
 * - Bodies: JSON only (415 otherwise), 10 MiB at most (400 PAYLOAD_TOO_LARGE), malformed JSON is
 *   400 BAD_REQUEST. A write with no body at all is read as `{}`.
 * - Every request spends the global budget once, when its headers arrive and before its body is
 *   read; a refused one is answered 429 and, if its body is still to come, its connection closed, so
 *   that a spent client cannot make the server read and parse megabytes. Answers that never reach a
 *   procedure carry RateLimit-* all the same.
 * - JSON nests at most 64 levels (400 BAD_REQUEST, see body-errors.ts).
 * - A path parameter that decodes to a NUL byte is 400 VALIDATION_ERROR, like a NUL anywhere else in
 *   an input (the guard in server/trpc.ts checks the rest, which arrives decoded).
 * - Whatever a procedure throws becomes an ApiError once, through `toApiError`; a validation error's
 *   fields say where each came from (params, query or body).
 * - An Idempotency-Key keeps only what the procedure's logic answered: a refusal decided before it
 *   ran (ApiError.refusal) or a 5xx releases the key, and a retry is judged afresh, unless the write
 *   committed (the key is marked in the same transaction; see idempotency.ts).
 * - Cache-Control: no-store under /auth and /user. A refused bearer token gets its challenge
 *   (RFC 6750): WWW-Authenticate on every 401 to a request that sent one.
 */
import { parse as parseQuery } from 'node:querystring';
import type { AnyRouter } from '@trpc/server';
import express, { type NextFunction, type Request, type Response } from 'express';
import { clientAddress, createContext, type Context, type Services } from '../../server/context.js';
import { ApiError, toApiError, validationMessage, type FieldError } from '../../server/errors.js';
import { clientKey, type RateLimitResult } from '../../server/rate-limit.js';
import { createCallerFactory, nulByteError, rateLimitError, setRateLimitHeaders } from '../../server/trpc.js';
import { errorEnvelope, sendApiError, setErrorHeaders, successEnvelope, type Envelope } from './envelope.js';
import { claimIdempotencyKey, requestHash, SECRET_WITHHELD, type Claim } from './idempotency.js';
import { bodyError, readJsonBody } from './body-errors.js';
import { docsRoutes } from './docs-page.js';
import { buildOpenApiDocument } from './openapi.js';
import { matchRoute, restRoutes, type RestRoute } from './routes.js';
import { streamFile, type StreamedFile } from './stream.js';

declare global {
  namespace Express {
    interface Locals {
      /** The global budget as spent when the request's headers arrived (spendGlobalOnArrival). */
      globalBudget?: RateLimitResult;
    }
  }
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

type RunningClaim = Extract<Claim, { kind: 'run' }>;
type Outcome = { ok: true; output: unknown } | { ok: false; error: ApiError };
type ProcedureCall = (input: unknown) => Promise<unknown>;

function requestIdOf(req: Request): string {
  return String(req.id);
}

const announcesBody = (req: Request) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/**
 * Spends a request's global budget once, when its headers arrive and before anything reads its body;
 * later calls get the same result. Both HTTP adapters call it first, and the result reaches the
 * procedure's guard through the context, so that the budget is not spent twice. A refused request
 * with a body is answered with Connection: close: the socket goes once the answer is out, and the
 * body is never read.
 */
export async function spendGlobalOnArrival(services: Services, req: Request, res: Response): Promise<RateLimitResult> {
  const spent = res.locals.globalBudget;
  if (spent) return spent;
  const budget = await services.limiter.consume('global', clientKey(clientAddress(req)));
  res.locals.globalBudget = budget;
  setRateLimitHeaders(res, budget);
  if (!budget.allowed && announcesBody(req)) res.setHeader('Connection', 'close');
  return budget;
}

export function createRestAdapter(services: Services, router: AnyRouter): express.Router {
  const routes = restRoutes(router);
  const createCaller = createCallerFactory(router);
  const procedurePaths = new Map(routes.map((route) => [route, route.procedurePath.split('.')]));
  const api = express.Router();
  let openApiDocument: string | undefined;

  /**
   * Whether the request's global budget allowed it. The first call, as the request arrives, spends the
   * budget and answers a refusal with 429; later calls only read the result.
   */
  async function spendGlobal(req: Request, res: Response): Promise<boolean> {
    const answered = res.locals.globalBudget !== undefined;
    const budget = await spendGlobalOnArrival(services, req, res);
    if (!budget.allowed && !answered) sendApiError(res, rateLimitError(budget), requestIdOf(req));
    return budget.allowed;
  }

  function fail(error: ApiError) {
    return async (req: Request, res: Response) => {
      if (await spendGlobal(req, res)) sendApiError(res, error, requestIdOf(req));
    };
  }

  async function serveDocument(req: Request, res: Response) {
    if (!(await spendGlobal(req, res))) return;
    openApiDocument ??= JSON.stringify(buildOpenApiDocument(router, routes, services.config.baseUrl));
    res.type('application/json').send(openApiDocument);
  }

  const docs = docsRoutes(spendGlobal);

  /** Reads a request's JSON body into `req.body`; calls `done` unless it already answered (415). */
  function readBody(req: Request, res: Response, done: (error?: unknown) => void): void {
    if (!BODY_METHODS.has(req.method) && req.method !== 'DELETE') return done();
    const hasBody = announcesBody(req);
    if (req.method === 'DELETE' && !hasBody) return done();
    if (!hasBody) {
      req.body = {};
      return done();
    }
    const contentType = req.headers['content-type'] ?? '';
    if (!JSON_TYPE.test(contentType)) {
      req.resume();
      const shown = contentType ? `"${contentType.split(';')[0]}"` : 'a body without Content-Type';
      void fail(
        new ApiError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Request bodies must be JSON (Content-Type: application/json), not ${shown}`,
        ),
      )(req, res);
      return;
    }
    readJsonBody(req, res, done);
  }

  /** Decides whether a POST with an Idempotency-Key runs, replays, or is refused; undefined: no key. */
  async function idempotencyFor(req: Request, ctx: Context): Promise<Claim | undefined> {
    const key = req.headers['idempotency-key'];
    if (req.method !== 'POST' || typeof key !== 'string') return undefined;
    const auth = await ctx.authenticate();
    const principal = auth.principal
      ? `${auth.principal.kind}:${auth.principal.apiKeyId ?? auth.principal.userId}`
      : `ip:${clientKey(ctx.ip)}`;
    return claimIdempotencyKey(services, principal, key, requestHash(req.method, req.path, req.body));
  }

  /** The procedure of a route, bound to a context through the router's caller. */
  function procedureFor(route: RestRoute, ctx: Context): ProcedureCall {
    let target: unknown = createCaller(ctx);
    for (const segment of procedurePaths.get(route) ?? []) target = (target as Record<string, unknown>)[segment];
    return target as ProcedureCall;
  }

  /** Runs a matched request's procedure and writes its answer, once. */
  async function serve(req: Request, res: Response, route: RestRoute, params: Record<string, string>) {
    let claim: RunningClaim | undefined;
    // Every transaction of an Idempotency-Key request marks the key before it commits (idempotency.ts).
    const holdsKey = req.method === 'POST' && req.headers['idempotency-key'] !== undefined;
    const ctx = createContext(
      services,
      'rest',
      req,
      res,
      res.locals.globalBudget,
      holdsKey ? async (em, transaction) => claim?.markCommitted(em, transaction) : undefined,
    );
    let claimed: Claim | undefined;
    try {
      claimed = await idempotencyFor(req, ctx);
    } catch (failure) {
      return fail(toApiError(failure))(req, res);
    }
    if (claimed?.kind === 'replay') return replay(req, res, claimed);
    claim = claimed;

    let outcome: Outcome;
    // A path parameter other than the organization's may not be empty: no route has it so.
    if (route.pathParams.some((name) => params[name] === '')) {
      outcome = { ok: false, error: new ApiError('NOT_FOUND', 'No such route', {}, { refusal: true }) };
    } else {
      const query = req.method === 'GET' || req.method === 'DELETE' ? queryOf(req.url) : {};
      const input = route.readInput({ method: req.method, params, query, body: req.body });
      try {
        outcome = { ok: true, output: await procedureFor(route, ctx)(input) };
      } catch (error) {
        logFailure(services, req, error);
        outcome = { ok: false, error: toApiError(error) };
      }
    }
    if (outcome.ok && route.meta.stream) {
      return streamFile(req, res, outcome.output as StreamedFile, () => res.end());
    }

    const envelope = outcome.ok
      ? successEnvelope(route.meta.status ?? 200, route.meta.message ?? 'OK', outcome.output)
      : errorAnswer(req, route, outcome.error);
    if (!envelope.success) setErrorHeaders(res, envelope.status, envelope.meta);
    if (envelope.status === 401 && /^bearer\b/i.test(req.headers.authorization ?? '')) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
    }
    res.statusCode = envelope.status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    const body = JSON.stringify(envelope);
    if (claim) {
      // Only what the logic answered is kept: a refusal before it ran, or a 5xx, frees the key for a retry.
      const answeredByLogic = (outcome.ok || !outcome.error.refusal) && envelope.status < 500;
      const kept = route.meta.secret && envelope.success ? SECRET_WITHHELD : body;
      await (answeredByLogic ? claim.complete(envelope.status, kept) : claim.release()).catch((error: unknown) =>
        logFailure(services, req, error),
      );
    }
    res.end(body);
  }

  // One middleware for everything under /api (each Express layer costs a few microseconds); the
  // global budget comes first, before anything reads the body.
  api.use((req, res, next) => {
    spendGlobal(req, res)
      .then((allowed) => {
        if (allowed) dispatch(req, res, next);
      })
      .catch(next);
  });

  function dispatch(req: Request, res: Response, next: NextFunction): void {
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (req.path === '/openapi.json') return void serveDocument(req, res);
      const docsRoute = docs.get(req.path);
      if (docsRoute) return void docsRoute(req, res).catch(next);
    }
    if (req.path.startsWith('/auth') || req.path.startsWith('/user')) res.setHeader('Cache-Control', 'no-store');
    // HEAD is GET without a body; Node drops the body of a HEAD response by itself.
    if (req.method === 'HEAD') req.method = 'GET';
    const match = matchRoute(routes, req.method, req.path);
    if (!match) return void fail(new ApiError('NOT_FOUND', `No route ${req.method} /api${req.path}`))(req, res);
    if ('allowed' in match) {
      res.setHeader('Allow', [...new Set(match.allowed)].join(', '));
      return void fail(
        new ApiError(
          'METHOD_NOT_ALLOWED',
          `${req.method} is not allowed on /api${req.path}; use ${match.allowed.join(' or ')}`,
        ),
      )(req, res);
    }
    if (match.params.organizationId === '') {
      return void fail(new ApiError('TENANT_CONTEXT_MISSING', 'This route needs an organization id in its path'))(
        req,
        res,
      );
    }
    // Path parameters reach the procedure as written, still percent-encoded, where a NUL is three
    // harmless characters; decoded, it is refused here as the guard refuses it anywhere else in an input.
    const nulInPath = nulByteError(decodedParams(match.params), 'params');
    if (nulInPath) return void fail(nulInPath)(req, res);
    readBody(req, res, (error) => {
      if (error) return next(error);
      serve(req, res, match.route, match.params).catch(next);
    });
  }

  /** Sends the kept answer of an earlier request with the same Idempotency-Key. */
  async function replay(req: Request, res: Response, claim: Extract<Claim, { kind: 'replay' }>) {
    if (!(await spendGlobal(req, res))) return;
    res.statusCode = claim.status;
    res.setHeader('Idempotent-Replayed', 'true');
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(claim.body);
  }

  api.use(fail(new ApiError('NOT_FOUND', 'No such route')));

  api.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiError = bodyError(error) ?? toApiError(error);
    logFailure(services, req, error);
    // Let the rest of an unread body drain so that the client receives the answer.
    req.resume();
    if (res.headersSent) return;
    void fail(apiError)(req, res);
  });

  return api;
}

function logFailure(services: Services, req: Request, error: unknown): void {
  const apiError = toApiError(error);
  const log = req.log ?? services.log;
  if (apiError.apiCode === 'INTERNAL_ERROR')
    log.error({ err: apiError.cause ?? error, reqId: req.id }, 'unhandled error');
  else if (apiError.apiCode === 'SERVICE_UNAVAILABLE')
    log.warn({ err: (apiError.cause as Error | undefined)?.message, reqId: req.id }, 'database unavailable');
}

/** The query string of a request URL, parsed as Express's default ("simple") parser does. */
function queryOf(url: string) {
  const start = url.indexOf('?');
  return start === -1 ? {} : parseQuery(url.slice(start + 1));
}

/** The error envelope of a procedure call: the request id added, a validation error's fields located. */
function errorAnswer(req: Request, route: RestRoute, error: ApiError): Envelope {
  const meta: Record<string, unknown> = { ...error.meta, requestId: requestIdOf(req) };
  let message = error.message;
  if (Array.isArray(meta.errors)) {
    const errors = (meta.errors as FieldError[]).map((e) => ({ ...e, location: locate(req, route, e.field) }));
    meta.errors = errors;
    message = validationMessage(errors);
  }
  return errorEnvelope(error.status, error.apiCode, message, meta);
}

/** Path parameters as the client meant them; a malformed escape stays as written, for the schema to judge. */
function decodedParams(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => {
      try {
        return [name, decodeURIComponent(value)];
      } catch {
        return [name, value];
      }
    }),
  );
}

/** Where a field of the input came from on this route. */
function locate(req: Request, route: RestRoute, field: string): FieldError['location'] {
  const root = field.split('.')[0] ?? '';
  if (route.pathParams.includes(root)) return 'params';
  if (BODY_METHODS.has(route.method)) return 'body';
  const body = req.body as Record<string, unknown> | undefined;
  return body && typeof body === 'object' && root in body ? 'body' : 'query';
}
