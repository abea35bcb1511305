import { z } from 'zod';
import { OAuthClientSchema } from '../../../entities/oauth.js';
import { newId } from '../../../server/ids.js';
import { userProcedure } from '../../../server/trpc.js';
import {
  assertGrantsFit,
  ClientFields,
  newClientSecret,
  OAuthClientOutput,
  oauthClientOutput,
} from './oauth-client.js';

/** POST /api/user/oauth-clients: a confidential client's secret is in this answer and nowhere else. */
export const createOAuthClient = userProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/oauth-clients',
      tags: ['oauth-clients'],
      summary: 'Register an OAuth client',
    },
    message: 'OAuth client created',
    status: 201,
    secret: true,
    verifiedEmail: true,
    sessionOnly: true,
  })
  .input(
    z.strictObject({
      name: ClientFields.name,
      type: ClientFields.type.default('confidential'),
      redirectUris: ClientFields.redirectUris,
      allowedScopes: ClientFields.allowedScopes,
      grantTypes: ClientFields.grantTypes.default(['authorization_code', 'refresh_token']),
      logoUri: ClientFields.uri,
      policyUri: ClientFields.uri,
      tosUri: ClientFields.uri,
    }),
  )
  .output(OAuthClientOutput.extend({ clientSecret: z.string().optional() }))
  .mutation(async ({ ctx, input }) => {
    assertGrantsFit(input.type, input.grantTypes);
    const now = ctx.services.now();
    const secret = input.type === 'confidential' ? newClientSecret() : null;
    const client = ctx.em.create(OAuthClientSchema, {
      id: newId(),
      userId: ctx.principal.userId,
      name: input.name,
      type: input.type,
      secretHash: secret?.secretHash ?? null,
      redirectUris: input.redirectUris,
      allowedScopes: input.allowedScopes,
      grantTypes: input.grantTypes,
      logoUri: input.logoUri ?? null,
      policyUri: input.policyUri ?? null,
      tosUri: input.tosUri ?? null,
      createdAt: now,
      updatedAt: now,
      secretRotatedAt: null,
    });
    await ctx.em.persist(client).flush();
    return secret ? { ...oauthClientOutput(client), clientSecret: secret.secret } : oauthClientOutput(client);
  });
