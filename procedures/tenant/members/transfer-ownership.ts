import { z } from 'zod';
import { MemberSchema } from '../../../entities/organization.js';
import { ApiError } from '../../../server/errors.js';
import { membershipCacheKey } from '../../../server/auth/credential-cache.js';
import { ULID_PATTERN } from '../../../server/ids.js';
import { audit, findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext } from '../audit-context.js';
import { revokeInvitesOutOfReach } from '../../shared/invitations.js';
import { lockOwners } from './membership.js';

/**
 * POST /api/user/organizations/{organizationId}/transfer-ownership: an owner hands ownership to
 * another member and becomes an admin, in one transaction; the owner invitations they sent lose their force.
 */
export const transferOwnership = tenantProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/organizations/{organizationId}/transfer-ownership',
      tags: ['members'],
      summary: 'Transfer ownership to another member',
    },
    message: 'Ownership transferred successfully',
    scopes: ['organizations:write'],
    ownerOnly: true,
  })
  .input(
    z.strictObject({ organizationId: z.string(), memberId: z.string().regex(ULID_PATTERN, 'Must be a member id') }),
  )
  .output(z.object({ ownerMemberId: z.string(), previousOwnerMemberId: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const result = await ctx.em.transactional(async (em) => {
      await lockOwners(em, ctx.organization.id);
      const target = await findInOrganization(em, MemberSchema, input.memberId, ctx.organization.id, 'member');
      if (target.id === ctx.membership.id) throw new ApiError('CONFLICT', 'You already own this organization');
      const me = await em.findOneOrFail(MemberSchema, { id: ctx.membership.id });
      target.role = 'owner';
      me.role = 'admin';
      await em.flush();
      audit(
        em,
        auditContext(ctx),
        {
          action: 'organization.ownership_transferred',
          targetType: 'member',
          targetId: target.id,
          metadata: { toUserId: target.userId, fromUserId: me.userId },
        },
        now,
      );
      await revokeInvitesOutOfReach(
        em,
        { userId: me.userId, organizationId: ctx.organization.id, role: 'admin' },
        auditContext(ctx),
        'sender-demoted',
        now,
      );
      await em.flush();
      return { ownerMemberId: target.id, previousOwnerMemberId: me.id, userIds: [target.userId, me.userId] };
    });
    await ctx.services.credentialCache.forget(
      result.userIds.map((userId) => membershipCacheKey(ctx.organization.id, userId)),
    );
    return { ownerMemberId: result.ownerMemberId, previousOwnerMemberId: result.previousOwnerMemberId };
  });
