import { z } from 'zod';
import { revokeOAuthGrants } from '../../../server/auth/oauth-grants.js';
import { ApiError } from '../../../server/errors.js';
import { userProcedure } from '../../../server/trpc.js';
import { ClientId } from '../oauth-clients/oauth-client.js';

/**
 * DELETE /api/user/oauth-grants/{clientId}: withdraws every grant I gave the client and everything
 * issued under them (server/auth/oauth-grants.ts). Expired grants of the pair go too: they are dead
 * weight, and their artifacts with them.
 */
export const revokeOAuthGrant = userProcedure
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/user/oauth-grants/{clientId}',
      tags: ['oauth-grants'],
      summary: 'Withdraw an app’s access',
    },
    message: 'Access revoked',
    sessionOnly: true,
  })
  .input(z.object({ clientId: ClientId }))
  .output(z.object({ clientId: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const revoked = await revokeOAuthGrants(ctx.em, { userId: ctx.principal.userId, clientId: input.clientId });
    if (revoked === 0) throw new ApiError('NOT_FOUND', 'You have not authorized this app');
    return { clientId: input.clientId };
  });
