import { z } from 'zod';
import { OAuthClientSchema } from '../../../entities/oauth.js';
import { userProcedure } from '../../../server/trpc.js';
import { ClientId, findOwnClient } from './oauth-client.js';

/**
 * DELETE /api/user/oauth-clients/{clientId}: the client and, in the same transaction, every grant,
 * code and token the provider keeps for it, so nothing it was issued outlives it.
 */
export const deleteOAuthClient = userProcedure
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/user/oauth-clients/{clientId}',
      tags: ['oauth-clients'],
      summary: 'Delete an OAuth client',
    },
    message: 'OAuth client deleted successfully',
    sessionOnly: true,
  })
  .input(z.object({ clientId: ClientId }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    await ctx.em.transactional(async (em) => {
      const client = await findOwnClient(em, ctx.principal.userId, input.clientId);
      await em
        .getConnection()
        .execute(
          `delete from oidc_artifacts where payload->>'clientId' = ?`,
          [client.id],
          'run',
          em.getTransactionContext(),
        );
      await em.nativeDelete(OAuthClientSchema, { id: client.id });
    });
    return { id: input.clientId };
  });
