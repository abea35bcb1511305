import { z } from 'zod';
import { apiKeyCacheKeys } from '../../../server/auth/api-keys.js';
import { credentialProcedure } from '../../../server/trpc.js';
import { ApiKeyId, findOwnKey } from './api-key.js';

/** POST /api/auth/api-key/delete: revokes the key; the next request with it is INVALID_API_KEY. */
export const deleteApiKey = credentialProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/api-key/delete',
      tags: ['api-keys'],
      summary: 'Revoke a personal access token',
    },
    message: 'API key deleted successfully',
    scopes: ['api-keys:delete'],
  })
  .input(z.strictObject({ id: ApiKeyId }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const key = await findOwnKey(ctx.em, ctx.principal, input.id);
    const now = ctx.services.now();
    // Kept as a revoked row rather than removed, so the id stays recognisable in audit trails.
    key.revokedAt = now;
    key.updatedAt = now;
    await ctx.em.flush();
    await ctx.services.credentialCache.forget(apiKeyCacheKeys(key));
    return { id: key.id };
  });
