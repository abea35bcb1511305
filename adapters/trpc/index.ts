/**
 * The tRPC endpoint at /trpc (server/http.ts mounts it, on Node's own request and response) for internal TypeScript frontends: the same procedures, plain outputs,
 * tRPC's error shape with our code in `error.data.code` and our status as the HTTP status.
 *
 * - The global budget is spent when the headers arrive, before the body is read, as on REST; a
 *   refused request is answered 429 through tRPC's own error shape with its body unread (and its
 *   connection closed), whatever its media type.
 * - JSON bodies are read here under the REST limits (10 MiB, 64 levels of nesting, UTF-8) and handed
 *   to tRPC as text; `?input=` query inputs are held to the same depth. Other media types are left to
 *   tRPC's own rules (415).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import { spendGlobalOnArrival } from '../../server/arrival.js';
import { createContext, type Services } from '../../server/context.js';
import { toApiError } from '../../server/errors.js';
import type { MountedListener } from '../../server/http.js';
import type { RateLimitResult } from '../../server/rate-limit.js';
import { rateLimitError } from '../../server/trpc.js';
import { bodyError, deepJsonError, MAX_BODY_BYTES, readJsonText } from '../rest/body-errors.js';

export function createTrpcAdapter(services: Services, router: AnyRouter): MountedListener {
  /** Reads what tRPC will read, under our limits; an error passed on becomes every call's answer. */
  function readRequest(
    req: IncomingMessage,
    res: ServerResponse,
    budget: RateLimitResult,
    next: (error?: unknown) => void,
  ) {
    if (!budget.allowed) {
      // tRPC checks the media type before it looks at the error, and streams a body it finds: the
      // refused body is declared empty JSON, so that neither happens.
      req.headers['content-type'] = 'application/json';
      req.body = '';
      return next(rateLimitError(budget));
    }
    const input = new URL(req.url ?? '/', 'http://trpc').searchParams.get('input');
    const deep = input === null ? undefined : deepJsonError(input);
    if (deep) return next(deep);
    readJsonText(req, res, (error?: unknown) => next(error === undefined ? undefined : (bodyError(error) ?? error)));
  }

  function onError({ error, req }: { error: unknown; req: IncomingMessage }) {
    const apiError = toApiError(error);
    if (apiError.apiCode === 'INTERNAL_ERROR') {
      (req.log ?? services.log).error({ err: apiError.cause ?? error, reqId: req.id }, 'unhandled error');
    }
  }

  return (req, res, url) => {
    // The global budget is spent before tRPC reads anything, as on REST; a failure to spend it
    // becomes the calls' answer, in tRPC's error shape.
    let budget: RateLimitResult | undefined;
    void nodeHTTPRequestHandler({
      router,
      req,
      res,
      path: (url.split('?')[0] ?? '').slice(1),
      maxBodySize: MAX_BODY_BYTES,
      middleware: (request, response, next) => {
        spendGlobalOnArrival(services, request, response).then((spent) => {
          budget = spent;
          readRequest(request, response, spent, next);
        }, next);
      },
      createContext: () => createContext(services, 'trpc', req, res, budget),
      onError,
    });
  };
}
