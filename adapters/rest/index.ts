/**
 * The REST facade at /api, on Node's own request and response (server/http.ts mounts it): each request is matched once against the route table (routes.ts), its
 * input assembled by the route's compiled rules (input.ts), its procedure called through the router's
 * caller with the request's context, and its answer written once as the envelope.
 *
 * - Unknown path: 404 NOT_FOUND; known path, other method: 405 METHOD_NOT_ALLOWED with Allow.
 * - Bodies: JSON only (415 otherwise), 10 MiB at most (400 PAYLOAD_TOO_LARGE), malformed JSON is
 *   400 BAD_REQUEST. A write with no body at all is read as `{}`. A route with `meta.form` (the SAML
 *   ACS, posted by an identity provider's page) also takes application/x-www-form-urlencoded, read
 *   into an object of strings with the same limit; a field given twice is 400 BAD_REQUEST. A route
 *   with `meta.rawBody` (a provider's signed webhook) gets the body unparsed, of any media type, 1 MiB
 *   at most, as `{ payload, signature }` with its signature header (body-errors.ts, readRawBody).
 * - Every request spends the global budget once. A request that may carry a body spends it when its
 *   headers arrive, before the body is read (server/arrival.ts); a GET or HEAD without one leaves it
 *   to the procedure's guard, which spends it with the procedure's own budgets and resolves the
 *   credential in the same breath (one Redis round trip). Answers that never reach a procedure
 *   spend it too, and carry RateLimit-* all the same.
 * - JSON nests at most 64 levels (400 BAD_REQUEST, see body-errors.ts).
 * - A path parameter that decodes to a NUL byte is 400 VALIDATION_ERROR, like a NUL anywhere else in
 *   an input (the guard in server/trpc.ts checks the rest, which arrives decoded).
 * - Whatever a procedure throws becomes an ApiError once, through `toApiError`; a validation error's
 *   fields say where each came from (params, query or body).
 * - An Idempotency-Key keeps only what the procedure's logic answered: a refusal decided before it
 *   ran (ApiError.refusal) or a 5xx releases the key, and a retry is judged afresh, unless the write
 *   committed (the key is marked in the same transaction; see idempotency.ts).
 * - A procedure's answer is the envelope, except a file (meta.stream, streamed as the body) and a
 *   redirect (meta.redirect: 303 with the output's Location, no body); their errors are the envelope.
 * - Cache-Control: no-store under /auth and /user. A refused bearer token gets its challenge
 *   (RFC 6750): WWW-Authenticate on every 401 to a request that sent one.
 * - A route with `meta.cache` (an anonymous GET, the same for everyone) is cacheable: its success
 *   carries `Cache-Control: public, max-age` and a strong ETag of the body sent, If-None-Match that
 *   matches it is answered 304 without a body, and its errors are `no-store` (`notModified`).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import express from 'express';
import type { AnyRouter } from '@trpc/server';
import { announcesBody, spendGlobalOnArrival } from '../../server/arrival.js';
import { createContext, type Context, type Services } from '../../server/context.js';
import { ApiError, toApiError, validationMessage, type FieldError } from '../../server/errors.js';
import type { MountedListener } from '../../server/http.js';
import { clientKey, type RateLimitResult } from '../../server/rate-limit.js';
import { createCallerFactory, nulByteError, rateLimitError } from '../../server/trpc.js';
import { errorEnvelope, sendApiError, setErrorHeaders, successEnvelope, type Envelope } from './envelope.js';
import { claimIdempotencyKey, requestHash, SECRET_WITHHELD, type Claim } from './idempotency.js';
import { bodyError, MAX_BODY_BYTES, readJsonBody, readRawBody } from './body-errors.js';
import { docsRoutes } from './docs-page.js';
import { buildOpenApiDocument } from './openapi.js';
import { matchRoute, type RestRoute } from './routes.js';
import { sendRedirect, type Redirect } from './redirect.js';
import { streamFile, type StreamedFile } from './stream.js';

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** A form body as text (10 MiB at most, UTF-8), for `formFields`. */
const readFormText = express.text({
  limit: MAX_BODY_BYTES,
  type: () => true,
  defaultCharset: 'utf-8',
  verify: (_req, _res, _body, encoding) => {
    if (encoding !== null && !/^utf-?8$/i.test(encoding))
      throw Object.assign(new Error(`unsupported charset "${encoding}"`), { type: 'charset.unsupported' });
  },
});

/**
 * A form's fields as an object of strings (flat: no nesting, so no depth to check); a field given
 * twice is refused rather than one of its values picked. NUL bytes are left for the guard to refuse.
 */
function formFields(text: unknown): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(typeof text === 'string' ? text : '')) {
    if (Object.hasOwn(fields, name))
      throw new ApiError('BAD_REQUEST', `The form field "${name}" is given more than once`);
    fields[name] = value;
  }
  return { ...fields };
}

type RunningClaim = Extract<Claim, { kind: 'run' }>;
type Outcome = { ok: true; output: unknown } | { ok: false; error: ApiError };
type ProcedureCall = (input: unknown) => Promise<unknown>;

/** One request on its way through the adapter. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** GET for HEAD: HEAD is GET without a body, and Node drops the body of a HEAD response by itself. */
  method: string;
  /** The path below /api, without the query. */
  path: string;
  url: string;
  /** The global budget, once spent here; undefined while the procedure's guard is to spend it. */
  budget?: RateLimitResult;
}

/** The adapter for `router`, serving `routes` (its route table, built once by the caller). */
export function createRestAdapter(services: Services, router: AnyRouter, routes: RestRoute[]): MountedListener {
  const createCaller = createCallerFactory(router);
  const procedurePaths = new Map(routes.map((route) => [route, route.procedurePath.split('.')]));
  const docs = docsRoutes();
  let openApiDocument: string | undefined;

  /** Spends the global budget if it is not yet; false (and answered 429) when it refuses. */
  async function spendGlobal(x: Exchange): Promise<boolean> {
    x.budget ??= await spendGlobalOnArrival(services, x.req, x.res);
    if (x.budget.allowed) return true;
    x.req.resume();
    sendApiError(x.res, rateLimitError(x.budget), x.req.id);
    return false;
  }

  /** Answers without a procedure, once the global budget allows an answer at all. */
  async function fail(x: Exchange, error: ApiError): Promise<void> {
    if (!(await spendGlobal(x))) return;
    // Let the rest of an unread body drain so that the client receives the answer.
    x.req.resume();
    sendApiError(x.res, error, x.req.id);
  }

  /**
   * The request's body: `{}` for a write without one, undefined for a read without one; JSON, or on a
   * `meta.form` route also a form (application/x-www-form-urlencoded), read as an object of strings.
   */
  async function readBody(x: Exchange, route: RestRoute): Promise<unknown> {
    const { req, method } = x;
    if (!BODY_METHODS.has(method) && method !== 'DELETE') return undefined;
    const hasBody = announcesBody(req);
    if (route.meta.rawBody) return hasBody ? readRawBody(req, x.res) : '';
    if (!hasBody) return method === 'DELETE' ? undefined : {};
    const contentType = req.headers['content-type'] ?? '';
    const form = route.meta.form === true && FORM_TYPE.test(contentType);
    if (!form && !JSON_TYPE.test(contentType)) {
      const shown = contentType ? `"${contentType.split(';')[0]}"` : 'a body without Content-Type';
      const allowed = route.meta.form
        ? 'JSON (Content-Type: application/json) or a form (application/x-www-form-urlencoded)'
        : 'JSON (Content-Type: application/json)';
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Request bodies must be ${allowed}, not ${shown}`);
    }
    const read = form ? readFormText : readJsonBody;
    await new Promise<void>((resolve, reject) =>
      read(req, x.res, (error?: unknown) => (error ? reject(error) : resolve())),
    );
    return form ? formFields(req.body) : req.body;
  }

  /** Decides whether a POST with an Idempotency-Key runs, replays, or is refused; undefined: no key. */
  async function idempotencyFor(x: Exchange, ctx: Context, body: unknown): Promise<Claim | undefined> {
    const key = x.req.headers['idempotency-key'];
    if (x.method !== 'POST' || typeof key !== 'string') return undefined;
    const auth = await ctx.authenticate();
    const principal = auth.principal
      ? `${auth.principal.kind}:${auth.principal.apiKeyId ?? auth.principal.userId}`
      : `ip:${clientKey(ctx.ip)}`;
    return claimIdempotencyKey(services, principal, key, requestHash(x.method, x.path, body));
  }

  /** The procedure of a route, bound to a context through the router's caller. */
  function procedureFor(route: RestRoute, ctx: Context): ProcedureCall {
    let target: unknown = createCaller(ctx);
    for (const segment of procedurePaths.get(route) ?? []) target = (target as Record<string, unknown>)[segment];
    return target as ProcedureCall;
  }

  async function handle(x: Exchange): Promise<void> {
    const { req, res, method, path } = x;
    if (method === 'GET') {
      if (path === '/openapi.json') {
        if (!(await spendGlobal(x))) return;
        openApiDocument ??= JSON.stringify(buildOpenApiDocument(router, routes, services.config.baseUrl));
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        return void res.end(openApiDocument);
      }
      const docsRoute = docs.get(path);
      if (docsRoute) return (await spendGlobal(x)) ? docsRoute(req, res) : undefined;
    }
    if (path.startsWith('/auth') || path.startsWith('/user')) res.setHeader('Cache-Control', 'no-store');
    const match = matchRoute(routes, method, path);
    if (!match) return fail(x, new ApiError('NOT_FOUND', `No route ${method} /api${path}`));
    if ('allowed' in match) {
      res.setHeader('Allow', [...new Set(match.allowed)].join(', '));
      return fail(
        x,
        new ApiError(
          'METHOD_NOT_ALLOWED',
          `${method} is not allowed on /api${path}; use ${match.allowed.join(' or ')}`,
        ),
      );
    }
    const { route, params } = match;
    if (params.organizationId === '') {
      return fail(x, new ApiError('TENANT_CONTEXT_MISSING', 'This route needs an organization id in its path'));
    }
    // A path parameter other than the organization's may not be empty: no route has it so.
    if (route.pathParams.some((name) => params[name] === ''))
      return fail(x, new ApiError('NOT_FOUND', 'No such route'));
    // Path parameters reach the procedure as written, still percent-encoded, where a NUL is three
    // harmless characters; decoded, it is refused here as the guard refuses it anywhere else in an input.
    const nulInPath = nulByteError(decodedParams(params), 'params');
    if (nulInPath) return fail(x, nulInPath);
    let body: unknown;
    try {
      body = await readBody(x, route);
    } catch (error) {
      const refused = bodyError(error);
      if (!refused) logFailure(services, req, error);
      return fail(x, refused ?? toApiError(error));
    }
    return serve(x, route, params, body);
  }

  /** Runs a matched request's procedure and writes its answer, once. */
  async function serve(x: Exchange, route: RestRoute, params: Record<string, string>, body: unknown): Promise<void> {
    const { req, res } = x;
    let claim: RunningClaim | undefined;
    // Every transaction of an Idempotency-Key request marks the key before it commits (idempotency.ts).
    const holdsKey = x.method === 'POST' && req.headers['idempotency-key'] !== undefined;
    const ctx = createContext(
      services,
      'rest',
      req,
      res,
      x.budget,
      holdsKey ? async (em, transaction) => claim?.markCommitted(em, transaction) : undefined,
    );
    let claimed: Claim | undefined;
    try {
      claimed = await idempotencyFor(x, ctx, body);
    } catch (failure) {
      return fail(x, toApiError(failure));
    }
    if (claimed?.kind === 'replay') return replay(x, claimed);
    claim = claimed;

    let outcome: Outcome;
    const query = x.method === 'GET' || x.method === 'DELETE' ? queryOf(x.url) : {};
    const input = route.meta.rawBody
      ? { payload: body, signature: headerValue(req, route.meta.rawBody.signatureHeader) }
      : route.readInput({ method: x.method, params, query, body });
    try {
      outcome = { ok: true, output: await procedureFor(route, ctx)(input) };
    } catch (error) {
      logFailure(services, req, error);
      outcome = { ok: false, error: toApiError(error) };
    }
    if (outcome.ok && route.meta.stream) return streamFile(req, res, outcome.output as StreamedFile);
    if (outcome.ok && route.meta.redirect) return sendRedirect(res, outcome.output as Redirect);

    const envelope = outcome.ok
      ? successEnvelope(route.meta.status ?? 200, route.meta.message ?? 'OK', outcome.output)
      : errorAnswer(req, route, outcome.error, body);
    if (!envelope.success) setErrorHeaders(res, envelope.status, envelope.meta);
    if (envelope.status === 401 && /^bearer\b/i.test(req.headers.authorization ?? '')) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
    }
    res.statusCode = envelope.status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    const text = JSON.stringify(envelope);
    if (claim) {
      // Only what the logic answered is kept: a refusal before it ran, or a 5xx, frees the key for a retry.
      const answeredByLogic = (outcome.ok || !outcome.error.refusal) && envelope.status < 500;
      const kept = route.meta.secret && envelope.success ? SECRET_WITHHELD : text;
      await (answeredByLogic ? claim.complete(envelope.status, kept) : claim.release()).catch((error: unknown) =>
        logFailure(services, req, error),
      );
    }
    if (route.meta.cache && notModified(req, res, route.meta.cache, envelope.success, text)) return;
    res.end(text);
  }

  /** Sends the kept answer of an earlier request with the same Idempotency-Key. */
  async function replay(x: Exchange, claim: Extract<Claim, { kind: 'replay' }>): Promise<void> {
    if (!(await spendGlobal(x))) return;
    x.res.statusCode = claim.status;
    x.res.setHeader('Idempotent-Replayed', 'true');
    x.res.setHeader('Content-Type', 'application/json; charset=utf-8');
    x.res.end(claim.body);
  }

  /** What nothing above expected: logged, and answered as an error envelope if nothing was sent yet. */
  function unexpected(x: Exchange, error: unknown): void {
    logFailure(services, x.req, error);
    x.req.resume();
    if (x.res.headersSent) return void x.res.destroy();
    // The budget may be what failed: the answer must not wait for it again.
    sendApiError(x.res, toApiError(error), x.req.id);
  }

  return (req, res, url) => {
    const queryAt = url.indexOf('?');
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const x: Exchange = {
      req,
      res,
      method,
      path: queryAt === -1 ? url : url.slice(0, queryAt),
      url,
      budget: undefined,
    };
    // A request that may carry a body spends the global budget before anything reads it; a GET leaves
    // it to the procedure's guard (or to `fail`), which spends it with the rest.
    const arrival =
      method === 'GET' && !announcesBody(req)
        ? handle(x)
        : spendGlobal(x).then((allowed) => (allowed ? handle(x) : undefined));
    arrival.catch((error: unknown) => unexpected(x, error));
  };
}

function logFailure(services: Services, req: IncomingMessage, error: unknown): void {
  const apiError = toApiError(error);
  const log = req.log ?? services.log;
  if (apiError.apiCode === 'INTERNAL_ERROR')
    log.error({ err: apiError.cause ?? error, reqId: req.id }, 'unhandled error');
  else if (apiError.apiCode === 'SERVICE_UNAVAILABLE')
    log.warn({ err: (apiError.cause as Error | undefined)?.message, reqId: req.id }, 'database unavailable');
}

/**
 * HTTP caching of a `meta.cache` route, over the exact body about to be sent: a success gets
 * `Cache-Control: public, max-age` and a strong ETag (a SHA-256 of the body); when If-None-Match
 * matches that ETag it is answered here, 304 with the same two headers and no body (true). An error
 * gets `no-store`: a shared cache must not keep a 404 of a widget that is published a minute later.
 */
function notModified(
  req: IncomingMessage,
  res: ServerResponse,
  cache: { maxAge: number },
  success: boolean,
  body: string,
): boolean {
  if (!success) {
    res.setHeader('Cache-Control', 'no-store');
    return false;
  }
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  res.setHeader('Cache-Control', `public, max-age=${cache.maxAge}`);
  res.setHeader('ETag', etag);
  if (!ifNoneMatch(req.headers['if-none-match'], etag)) return false;
  res.statusCode = 304;
  res.removeHeader('Content-Type');
  res.end();
  return true;
}

/**
 * Whether If-None-Match names the current representation (RFC 9110 section 13.1.2): `*`, or a tag of
 * its list equal to `etag` by the weak comparison it calls for (a `W/` prefix does not count).
 */
function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  for (const [, tag] of header.matchAll(/(?:W\/)?("[^"]*")/g)) if (tag === etag) return true;
  return false;
}

/** A request header as one string, '' when absent. */
function headerValue(req: IncomingMessage, name: string): string {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The query string of a request URL, parsed as Express's default ("simple") parser does. */
function queryOf(url: string) {
  const start = url.indexOf('?');
  return start === -1 ? {} : parseQuery(url.slice(start + 1));
}

/** The error envelope of a procedure call: the request id added, a validation error's fields located. */
function errorAnswer(req: IncomingMessage, route: RestRoute, error: ApiError, body: unknown): Envelope {
  const meta: Record<string, unknown> = { ...error.meta, requestId: req.id };
  let message = error.message;
  if (Array.isArray(meta.errors)) {
    const errors = (meta.errors as FieldError[]).map((e) => ({ ...e, location: locate(route, body, e.field) }));
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
function locate(route: RestRoute, body: unknown, field: string): FieldError['location'] {
  const root = field.split('.')[0] ?? '';
  if (route.pathParams.includes(root)) return 'params';
  if (BODY_METHODS.has(route.method)) return 'body';
  return body && typeof body === 'object' && root in body ? 'body' : 'query';
}
