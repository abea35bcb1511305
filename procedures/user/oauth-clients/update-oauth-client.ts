import { z } from 'zod';
import { userProcedure } from '../../../server/trpc.js';
import {
  assertGrantsFit,
  ClientFields,
  ClientId,
  findOwnClient,
  OAuthClientOutput,
  oauthClientOutput,
} from './oauth-client.js';

const CHANGEABLE = ['name', 'redirectUris', 'allowedScopes', 'grantTypes', 'logoUri', 'policyUri', 'tosUri'] as const;

/**
 * PUT /api/user/oauth-clients/{clientId}: only the fields sent change. The type is fixed at creation:
 * turning a public client confidential (or back) would change how its existing tokens were earned.
 */
export const updateOAuthClient = userProcedure
  .meta({
    openapi: {
      method: 'PUT',
      path: '/user/oauth-clients/{clientId}',
      tags: ['oauth-clients'],
      summary: 'Update an OAuth client',
    },
    message: 'OAuth client updated successfully',
    sessionOnly: true,
  })
  .input(
    z
      .strictObject({
        clientId: ClientId,
        name: ClientFields.name.optional(),
        redirectUris: ClientFields.redirectUris.optional(),
        allowedScopes: ClientFields.allowedScopes.optional(),
        grantTypes: ClientFields.grantTypes.optional(),
        logoUri: ClientFields.uri,
        policyUri: ClientFields.uri,
        tosUri: ClientFields.uri,
      })
      .refine((body) => CHANGEABLE.some((field) => body[field] !== undefined), {
        message: `Send at least one of: ${CHANGEABLE.join(', ')}`,
      }),
  )
  .output(OAuthClientOutput)
  .mutation(async ({ ctx, input }) => {
    const client = await findOwnClient(ctx.em, ctx.principal.userId, input.clientId);
    if (input.grantTypes) assertGrantsFit(client.type, input.grantTypes);
    const changed = CHANGEABLE.filter((field) => input[field] !== undefined);
    ctx.em.assign(client, {
      ...Object.fromEntries(changed.map((field) => [field, input[field]])),
      updatedAt: ctx.services.now(),
    });
    await ctx.em.flush();
    return oauthClientOutput(client);
  });
