import { z } from 'zod';
import { userProcedure } from '../../../server/trpc.js';
import { ClientId, findOwnClient, OAuthClientOutput, oauthClientOutput } from './oauth-client.js';

/** GET /api/user/oauth-clients/{clientId}: one of my clients; anyone else's id is not found. */
export const getOAuthClient = userProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/oauth-clients/{clientId}',
      tags: ['oauth-clients'],
      summary: 'Get an OAuth client',
    },
    message: 'OAuth client fetched successfully',
    sessionOnly: true,
  })
  .input(z.object({ clientId: ClientId }))
  .output(OAuthClientOutput)
  .query(async ({ ctx, input }) =>
    oauthClientOutput(await findOwnClient(ctx.em, ctx.principal.userId, input.clientId)),
  );
