import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { userProcedure } from '../../../server/trpc.js';
import { OAuthGrantOutput, oauthGrantOutput, type GrantRow } from './oauth-grant.js';

/*
 * Grants are folded per client in SQL so that pagination counts apps, not grant rows. The join to
 * oauth_clients is inner: deleting a client deletes its artifacts in the same transaction, and a grant
 * whose client is gone could not mint a token anyway, so there is nothing to show for it.
 */
const LIVE_GRANTS = `from oidc_artifacts g join oauth_clients c on c.id = g.payload->>'clientId'
  where g.model = 'Grant' and g.payload->>'accountId' = ? and (g.expires_at is null or g.expires_at > ?)`;

/** GET /api/user/oauth-grants: the apps I authorized whose grants are live, latest consent first. */
export const listOAuthGrants = userProcedure
  .meta({
    openapi: { method: 'GET', path: '/user/oauth-grants', tags: ['oauth-grants'], summary: 'Apps I authorized' },
    message: 'Items fetched successfully',
    // Seeing (and withdrawing) what tokens exist is credential management: a token must not audit itself.
    sessionOnly: true,
  })
  .input(PageInput)
  .output(pageOf(OAuthGrantOutput))
  .query(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const connection = ctx.em.getConnection();
    const [counted] = await connection.execute<{ total: string }[]>(
      `select count(distinct g.payload->>'clientId') as total ${LIVE_GRANTS}`,
      [ctx.principal.userId, now],
    );
    const rows = await connection.execute<GrantRow[]>(
      `select c.id as client_id, c.name as client_name, c.logo_uri,
              max((g.payload->>'iat')::bigint) as granted_at,
              case when bool_or(g.expires_at is null) then null else max(g.expires_at) end as expires_at,
              jsonb_agg(jsonb_build_object('openid', g.payload->'openid', 'resources', g.payload->'resources')) as grants
         ${LIVE_GRANTS}
        group by c.id, c.name, c.logo_uri
        order by granted_at desc, c.id desc
        offset ? limit ?`,
      [ctx.principal.userId, now, input.offset, input.limit],
    );
    return toPage(rows.map(oauthGrantOutput), Number(counted?.total ?? 0), input);
  });
