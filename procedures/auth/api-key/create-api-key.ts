import { z } from 'zod';
import { ApiKeySchema } from '../../../entities/api-key.js';
import { generateApiKey } from '../../../server/auth/api-keys.js';
import { newId, ULID_PATTERN } from '../../../server/ids.js';
import { credentialProcedure } from '../../../server/trpc.js';
import { requireStepUp, StepUpPassword } from '../../shared/step-up.js';
import { ApiKeyFields, assertGrantable, NewApiKeyOutput, newApiKeyOutput, pinFor } from './api-key.js';

const MAX_EXPIRES_IN = 365 * 86_400;

/** A scope that changes or deletes something (`…:write`, `…:delete`), as opposed to one that reads. */
const grantsChanges = (scope: string) => scope.endsWith(':write') || scope.endsWith(':delete');

/**
 * POST /api/auth/api-key/create: the full key is in this answer and nowhere else (200, as documented).
 * A key with a write or delete scope is lasting access that survives the session: a session creating
 * one steps up (the password, or a recent sign-in without one); a token creating one cannot exceed its
 * own scopes and needs no step-up.
 */
export const createApiKey = credentialProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/api-key/create',
      tags: ['api-keys'],
      summary: 'Create a personal access token',
    },
    message: 'API key created',
    secret: true,
    verifiedEmail: true,
    scopes: ['api-keys:write'],
    stepUp: true,
  })
  .input(
    z.strictObject({
      name: ApiKeyFields.name,
      expiresIn: z
        .number()
        .int('Must be a whole number of seconds')
        .min(60, 'Must be at least 60 seconds')
        .max(MAX_EXPIRES_IN, 'Must be at most 365 days')
        .optional(),
      scopes: ApiKeyFields.scopes,
      organizationId: z.string().regex(ULID_PATTERN, 'Must be an organization id').optional(),
      metadata: ApiKeyFields.metadata.optional(),
      password: StepUpPassword,
    }),
  )
  .output(NewApiKeyOutput)
  .mutation(async ({ ctx, input }) => {
    assertGrantable(ctx.principal, input.scopes);
    if (input.scopes.some(grantsChanges)) await requireStepUp(ctx, ctx.principal, input.password);
    const organizationId = await pinFor(ctx.em, ctx.principal, input.organizationId);
    const now = ctx.services.now();
    const { key, start, keyHash } = generateApiKey();
    const apiKey = ctx.em.create(ApiKeySchema, {
      id: newId(),
      userId: ctx.principal.userId,
      name: input.name,
      start,
      keyHash,
      scopes: input.scopes,
      organizationId,
      expiresAt: input.expiresIn === undefined ? null : new Date(now.getTime() + input.expiresIn * 1000),
      lastUsedAt: null,
      metadata: input.metadata ?? {},
      createdAt: now,
      updatedAt: now,
      revokedAt: null,
      previousKeyHash: null,
      previousKeyExpiresAt: null,
      // A key minted by an SSO sign-in passes that organization's SSO-required policy, as its session does.
      ssoOrganizationId: ctx.principal.ssoOrganizationId ?? null,
    });
    await ctx.em.persist(apiKey).flush();
    return newApiKeyOutput(apiKey, key);
  });
