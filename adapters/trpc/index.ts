/**
 * The tRPC endpoint at /trpc for internal TypeScript frontends: the same procedures, plain outputs,
 * tRPC's error shape with our code in `error.data.code` and our status as the HTTP status.
 */
import type { AnyRouter } from '@trpc/server';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import type express from 'express';
import { createContext, type Services } from '../../server/context.js';
import { toApiError } from '../../server/errors.js';
import { MAX_BODY_BYTES } from '../rest/index.js';

export function createTrpcAdapter(services: Services, router: AnyRouter): express.RequestHandler {
  return createExpressMiddleware({
    router,
    maxBodySize: MAX_BODY_BYTES,
    createContext: ({ req, res }) => createContext(services, 'trpc', req, res),
    onError: ({ error, req }) => {
      const apiError = toApiError(error);
      if (apiError.apiCode === 'INTERNAL_ERROR') {
        (req.log ?? services.log).error({ err: apiError.cause ?? error, reqId: req.id }, 'unhandled error');
      }
    },
  });
}
