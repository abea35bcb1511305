import { z } from 'zod';
import { ApiError } from '../../../server/errors.js';
import { userProcedure } from '../../../server/trpc.js';
import { ClientId, findOwnClient, newClientSecret, OAuthClientOutput, oauthClientOutput } from './oauth-client.js';

/**
 * POST /api/user/oauth-clients/{clientId}/rotate-secret: a new secret, shown once; the old one stops
 * working at once (tokens already issued stay valid until they expire or are revoked).
 */
export const rotateClientSecret = userProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/oauth-clients/{clientId}/rotate-secret',
      tags: ['oauth-clients'],
      summary: 'Rotate an OAuth client secret',
    },
    message: 'Client secret rotated',
    secret: true,
    verifiedEmail: true,
    sessionOnly: true,
  })
  .input(z.object({ clientId: ClientId }))
  .output(OAuthClientOutput.extend({ clientSecret: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const client = await findOwnClient(ctx.em, ctx.principal.userId, input.clientId);
    if (client.type === 'public') throw new ApiError('CONFLICT', 'Public clients have no secret');
    const { secret, secretHash } = newClientSecret();
    const now = ctx.services.now();
    client.secretHash = secretHash;
    client.secretRotatedAt = now;
    client.updatedAt = now;
    await ctx.em.flush();
    return { ...oauthClientOutput(client), clientSecret: secret };
  });
