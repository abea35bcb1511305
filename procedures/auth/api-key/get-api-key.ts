import { z } from 'zod';
import { credentialProcedure } from '../../../server/trpc.js';
import { ApiKeyId, ApiKeyOutput, apiKeyOutput, findOwnKey } from './api-key.js';

/** GET /api/auth/api-key/get?id=: one of my keys; anyone else's id is not found. */
export const getApiKey = credentialProcedure
  .meta({
    openapi: { method: 'GET', path: '/auth/api-key/get', tags: ['api-keys'], summary: 'Get a personal access token' },
    message: 'API key fetched successfully',
    scopes: ['api-keys:read'],
  })
  .input(z.object({ id: ApiKeyId }))
  .output(ApiKeyOutput)
  .query(async ({ ctx, input }) => apiKeyOutput(await findOwnKey(ctx.em, ctx.principal, input.id)));
