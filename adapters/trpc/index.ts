/**
 * The tRPC endpoint at /trpc for internal TypeScript frontends: the same procedures, plain outputs,
 * tRPC's error shape with our code in `error.data.code` and our status as the HTTP status.
 *
 * - The global budget is spent when the headers arrive, before the body is read, as on REST; a
 *   refused request is answered 429 through tRPC's own error shape with its body unread (and its
 *   connection closed), whatever its media type.
 * - JSON bodies are read here under the REST limits (10 MiB, 64 levels of nesting, UTF-8) and handed
 *   to tRPC as text; `?input=` query inputs are held to the same depth. Other media types are left to
 *   tRPC's own rules (415).
 */
import type { AnyRouter } from '@trpc/server';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import type express from 'express';
import { createContext, type Services } from '../../server/context.js';
import { toApiError } from '../../server/errors.js';
import { rateLimitError } from '../../server/trpc.js';
import { bodyError, deepJsonError, MAX_BODY_BYTES, readJsonText } from '../rest/body-errors.js';
import { spendGlobalOnArrival } from '../rest/index.js';

export function createTrpcAdapter(services: Services, router: AnyRouter): express.RequestHandler {
  /** Runs before tRPC reads anything; an error passed on becomes every call's answer. */
  function readRequest(req: express.Request, res: express.Response, next: (error?: unknown) => void): void {
    spendGlobalOnArrival(services, req, res).then((budget) => {
      if (!budget.allowed) {
        // tRPC checks the media type before it looks at the error, and streams a body it finds: the
        // refused body is declared empty JSON, so that neither happens.
        req.headers['content-type'] = 'application/json';
        req.body = '';
        return next(rateLimitError(budget));
      }
      const input = new URL(req.url, 'http://trpc').searchParams.get('input');
      const deep = input === null ? undefined : deepJsonError(input);
      if (deep) return next(deep);
      readJsonText(req, res, (error?: unknown) => next(error === undefined ? undefined : (bodyError(error) ?? error)));
    }, next);
  }

  return createExpressMiddleware({
    router,
    maxBodySize: MAX_BODY_BYTES,
    middleware: readRequest,
    createContext: ({ req, res }) => createContext(services, 'trpc', req, res, res.locals.globalBudget),
    onError: ({ error, req }) => {
      const apiError = toApiError(error);
      if (apiError.apiCode === 'INTERNAL_ERROR') {
        (req.log ?? services.log).error({ err: apiError.cause ?? error, reqId: req.id }, 'unhandled error');
      }
    },
  });
}
