import { z } from 'zod';
import { apiKeyCacheKeys } from '../../../server/auth/api-keys.js';
import { credentialProcedure } from '../../../server/trpc.js';
import { ApiKeyFields, ApiKeyId, ApiKeyOutput, apiKeyOutput, assertGrantable, findOwnKey } from './api-key.js';

const CHANGEABLE = ['name', 'scopes', 'metadata'] as const;

/** POST /api/auth/api-key/update: only the fields sent change; scopes within the same ceiling as create. */
export const updateApiKey = credentialProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/api-key/update',
      tags: ['api-keys'],
      summary: 'Update a personal access token',
    },
    message: 'API key updated successfully',
    scopes: ['api-keys:write'],
  })
  .input(
    z
      .strictObject({
        id: ApiKeyId,
        name: ApiKeyFields.name.optional(),
        scopes: ApiKeyFields.scopes.optional(),
        metadata: ApiKeyFields.metadata.optional(),
      })
      .refine((body) => CHANGEABLE.some((field) => body[field] !== undefined), {
        message: `Send at least one of: ${CHANGEABLE.join(', ')}`,
      }),
  )
  .output(ApiKeyOutput)
  .mutation(async ({ ctx, input }) => {
    const key = await findOwnKey(ctx.em, ctx.principal, input.id);
    // A PAT may neither touch a broader key nor widen one beyond itself.
    assertGrantable(ctx.principal, [...key.scopes, ...(input.scopes ?? [])]);
    if (input.name !== undefined) key.name = input.name;
    if (input.scopes !== undefined) key.scopes = input.scopes;
    if (input.metadata !== undefined) key.metadata = input.metadata;
    key.updatedAt = ctx.services.now();
    await ctx.em.flush();
    await ctx.services.credentialCache.forget(apiKeyCacheKeys(key));
    return apiKeyOutput(key);
  });
