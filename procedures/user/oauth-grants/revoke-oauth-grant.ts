import { z } from 'zod';
import { ApiError } from '../../../server/errors.js';
import { userProcedure } from '../../../server/trpc.js';
import { ClientId } from '../oauth-clients/oauth-client.js';

/**
 * DELETE /api/user/oauth-grants/{clientId}: withdraws every grant I gave the client, and with them
 * everything issued under those grants (refresh tokens, codes, sessions' references), atomically
 * so no refresh token outlives its grant. Access tokens are JWTs and cannot be deleted;
 * they die on their next use because the bearer check requires a live Grant row.
 * Expired grants of the pair go too: they are dead weight, and their artifacts with them.
 */
export const revokeOAuthGrant = userProcedure
  .meta({
    openapi: { method: 'DELETE', path: '/user/oauth-grants/{clientId}', tags: ['oauth-grants'], summary: 'Withdraw an app’s access' },
    message: 'Access revoked',
    sessionOnly: true,
  })
  .input(z.object({ clientId: ClientId }))
  .output(z.object({ clientId: z.string() }))
  .mutation(async ({ ctx, input }) => {
    // One statement, so one transaction: the grants and what was issued under them go together or not
    // at all. Data-modifying CTEs share a snapshot, so the second delete reads the ids the first returns.
    // Grants are matched on the caller's own account id, so another user's grant is simply not found.
    const grants = await ctx.em.getConnection().execute<{ id: string }[]>(
      `with grants as (
         delete from oidc_artifacts where model = 'Grant' and payload->>'accountId' = ? and payload->>'clientId' = ? returning id
       ), issued as (
         delete from oidc_artifacts where model <> 'Grant' and grant_id in (select id from grants)
       )
       select id from grants`,
      [ctx.principal.userId, input.clientId],
      'all',
      ctx.em.getTransactionContext(),
    );
    if (grants.length === 0) throw new ApiError('NOT_FOUND', 'You have not authorized this app');
    return { clientId: input.clientId };
  });
