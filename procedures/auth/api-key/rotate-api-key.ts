import { z } from 'zod';
import { apiKeyCacheKeys, generateApiKey } from '../../../server/auth/api-keys.js';
import { credentialProcedure } from '../../../server/trpc.js';
import { ApiKeyId, assertGrantable, findOwnKey, NewApiKeyOutput, newApiKeyOutput } from './api-key.js';

/**
 * POST /api/auth/api-key/rotate: a new secret for the same key. The old secret stays valid for
 * `gracePeriod` seconds (at most 24 h) so that deployments can switch over; with none it stops at once.
 */
export const rotateApiKey = credentialProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/api-key/rotate',
      tags: ['api-keys'],
      summary: 'Rotate a personal access token',
    },
    message: 'API key rotated',
    secret: true,
    verifiedEmail: true,
    scopes: ['api-keys:write'],
  })
  .input(
    z.strictObject({
      id: ApiKeyId,
      gracePeriod: z
        .number()
        .int('Must be a whole number of seconds')
        .min(0, 'Must be 0 or more')
        .max(86_400, 'Must be at most 86400 seconds (24 h)')
        .default(0),
    }),
  )
  .output(NewApiKeyOutput)
  .mutation(async ({ ctx, input }) => {
    const apiKey = await findOwnKey(ctx.em, ctx.principal, input.id);
    // Rotating hands out the key's secret, so a PAT may rotate only keys no broader than itself.
    assertGrantable(ctx.principal, apiKey.scopes);
    const now = ctx.services.now();
    const { key, start, keyHash } = generateApiKey();
    // The cached answers for the old secrets change (a grace deadline, or no longer valid).
    const stale = apiKeyCacheKeys(apiKey);
    // Validation accepts the previous hash only while its deadline is in the future: null means never.
    apiKey.previousKeyHash = apiKey.keyHash;
    apiKey.previousKeyExpiresAt = input.gracePeriod > 0 ? new Date(now.getTime() + input.gracePeriod * 1000) : null;
    apiKey.keyHash = keyHash;
    apiKey.start = start;
    apiKey.updatedAt = now;
    await ctx.em.flush();
    await ctx.services.credentialCache.forget(stale);
    return newApiKeyOutput(apiKey, key);
  });
