import { z } from 'zod';
import { MemberSchema } from '../../../entities/organization.js';
import { membershipCacheKey } from '../../../server/auth/credential-cache.js';
import { ULID_PATTERN } from '../../../server/ids.js';
import { ROLES } from '../../../server/scopes.js';
import { audit, findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext } from '../audit-context.js';
import { revokeInvitesOutOfReach } from '../../shared/invitations.js';
import { assertMayManage, lastOwnerError, lockOwners } from './membership.js';

/**
 * PUT /api/user/organizations/{organizationId}/members/{memberId}/role: a demotion also revokes the
 * member's pending invitations the new role could not have sent.
 */
export const changeRole = tenantProcedure
  .meta({
    openapi: {
      method: 'PUT',
      path: '/user/organizations/{organizationId}/members/{memberId}/role',
      tags: ['members'],
      summary: "Change a member's role",
    },
    message: 'Role changed successfully',
    scopes: ['organizations:write'],
    permission: 'organization:manage-members',
  })
  .input(
    z.strictObject({
      organizationId: z.string(),
      memberId: z.string().regex(ULID_PATTERN, 'Must be a member id'),
      role: z.enum(ROLES),
    }),
  )
  .output(z.object({ id: z.string(), role: z.enum(ROLES) }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const changed = await ctx.em.transactional(async (em) => {
      const owners = await lockOwners(em, ctx.organization.id);
      const member = await findInOrganization(em, MemberSchema, input.memberId, ctx.organization.id, 'member');
      assertMayManage(ctx.membership.role, member, input.role);
      if (member.role === 'owner' && input.role !== 'owner' && owners.length === 1) throw lastOwnerError('be demoted');
      const from = member.role;
      member.role = input.role;
      await em.flush();
      audit(
        em,
        auditContext(ctx),
        {
          action: 'member.role_changed',
          targetType: 'member',
          targetId: member.id,
          metadata: { userId: member.userId, from, to: input.role },
        },
        now,
      );
      await revokeInvitesOutOfReach(
        em,
        { userId: member.userId, organizationId: ctx.organization.id, role: input.role },
        auditContext(ctx),
        'sender-demoted',
        now,
      );
      await em.flush();
      return member;
    });
    await ctx.services.credentialCache.forget([membershipCacheKey(ctx.organization.id, changed.userId)]);
    return { id: changed.id, role: changed.role };
  });
