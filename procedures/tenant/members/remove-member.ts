import { z } from 'zod';
import { MemberSchema } from '../../../entities/organization.js';
import { membershipCacheKey } from '../../../server/auth/credential-cache.js';
import { ULID_PATTERN } from '../../../server/ids.js';
import { audit, findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext } from '../audit-context.js';
import { revokeInvitesOutOfReach } from '../../shared/invitations.js';
import { assertMayManage, lastOwnerError, lockOwners } from './membership.js';

/**
 * DELETE /api/user/organizations/{organizationId}/members/{memberId}: the member's pending invitations
 * go with them (procedures/shared/invitations.ts).
 */
export const removeMember = tenantProcedure
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/user/organizations/{organizationId}/members/{memberId}',
      tags: ['members'],
      summary: 'Remove a member',
    },
    message: 'Member removed successfully',
    scopes: ['organizations:write'],
    permission: 'organization:manage-members',
  })
  .input(z.object({ organizationId: z.string(), memberId: z.string().regex(ULID_PATTERN, 'Must be a member id') }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const removed = await ctx.em.transactional(async (em) => {
      const owners = await lockOwners(em, ctx.organization.id);
      const member = await findInOrganization(em, MemberSchema, input.memberId, ctx.organization.id, 'member');
      assertMayManage(ctx.membership.role, member);
      if (member.role === 'owner' && owners.length === 1) throw lastOwnerError('be removed');
      await em.remove(member).flush();
      await revokeInvitesOutOfReach(
        em,
        { userId: member.userId, organizationId: ctx.organization.id, role: null },
        auditContext(ctx),
        'sender-removed',
        now,
      );
      audit(
        em,
        auditContext(ctx),
        {
          action: 'member.removed',
          targetType: 'member',
          targetId: member.id,
          metadata: { userId: member.userId, role: member.role },
        },
        now,
      );
      await em.flush();
      return member;
    });
    await ctx.services.credentialCache.forget([membershipCacheKey(ctx.organization.id, removed.userId)]);
    return { id: removed.id };
  });
