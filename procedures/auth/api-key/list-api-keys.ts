import { credentialProcedure } from '../../../server/trpc.js';
import { ApiKeySchema } from '../../../entities/api-key.js';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { ApiKeyOutput, apiKeyOutput, visibleKeys } from './api-key.js';

/** GET /api/auth/api-key/list: my live keys, newest first, without their secrets. */
export const listApiKeys = credentialProcedure
  .meta({
    openapi: { method: 'GET', path: '/auth/api-key/list', tags: ['api-keys'], summary: 'My personal access tokens' },
    message: 'Items fetched successfully',
    scopes: ['api-keys:read'],
  })
  .input(PageInput)
  .output(pageOf(ApiKeyOutput))
  .query(async ({ ctx, input }) => {
    const [keys, total] = await ctx.em.findAndCount(ApiKeySchema, visibleKeys(ctx.principal), {
      orderBy: { createdAt: 'desc', id: 'desc' },
      offset: input.offset,
      limit: input.limit,
    });
    return toPage(keys.map(apiKeyOutput), total, input);
  });
