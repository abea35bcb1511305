/**
 * Withdrawing what a user authorized through the OpenID provider.
 *
 * - A grant goes together with everything issued under it (refresh tokens, codes), in one statement,
 *   so no refresh token outlives its grant. Access tokens are JWTs and cannot be deleted: they die on
 *   their next use, because the bearer check (bearer.ts) requires a live Grant row.
 * - Grants are matched on the user's own account id, so another user's grant is never touched.
 * - Withdrawing all of a user's grants (a password reset or change, the account's deletion) also ends
 *   the provider's own sessions of the user: nothing of theirs is left at the provider.
 */
import type { EntityManager } from '@mikro-orm/postgresql';

/** Withdraws the user's grants (to one client, or to all); returns how many grants went. */
export async function revokeOAuthGrants(
  em: EntityManager,
  where: { userId: string; clientId?: string },
): Promise<number> {
  const params: unknown[] = [where.userId];
  let clientCondition = '';
  if (where.clientId !== undefined) {
    clientCondition = ` and payload->>'clientId' = ?`;
    params.push(where.clientId);
  } else {
    await em
      .getConnection()
      .execute(
        `delete from oidc_artifacts where model = 'Session' and payload->>'accountId' = ?`,
        [where.userId],
        'run',
        em.getTransactionContext(),
      );
  }
  // Data-modifying CTEs share a snapshot, so the second delete reads the ids the first returns.
  const grants = await em.getConnection().execute<{ id: string }[]>(
    `with grants as (
       delete from oidc_artifacts where model = 'Grant' and payload->>'accountId' = ?${clientCondition} returning id
     ), issued as (
       delete from oidc_artifacts where model <> 'Grant' and grant_id in (select id from grants)
     )
     select id from grants`,
    params,
    'all',
    em.getTransactionContext(),
  );
  return grants.length;
}
