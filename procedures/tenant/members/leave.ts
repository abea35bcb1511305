import { z } from 'zod';
import { MemberSchema } from '../../../entities/organization.js';
import { membershipCacheKey } from '../../../server/auth/credential-cache.js';
import { audit } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext } from '../audit-context.js';
import { revokeInvitesOutOfReach } from '../../shared/invitations.js';
import { lastOwnerError, lockOwners } from './membership.js';

/**
 * POST /api/user/organizations/{organizationId}/leave: give up my membership (not as the last owner);
 * my pending invitations there go with it. Open to a member the MFA policy shuts out (meta.mfaExempt).
 */
export const leave = tenantProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/organizations/{organizationId}/leave',
      tags: ['members'],
      summary: 'Leave the organization',
    },
    message: 'You left the organization',
    scopes: ['organizations:write'],
    permission: 'organization:read',
    mfaExempt: true,
  })
  .input(z.strictObject({ organizationId: z.string() }))
  .output(z.object({ organizationId: z.string() }))
  .mutation(async ({ ctx }) => {
    const now = ctx.services.now();
    await ctx.em.transactional(async (em) => {
      const owners = await lockOwners(em, ctx.organization.id);
      if (ctx.membership.role === 'owner' && owners.length === 1) throw lastOwnerError('leave');
      await em.nativeDelete(MemberSchema, { id: ctx.membership.id });
      await revokeInvitesOutOfReach(
        em,
        { userId: ctx.principal.userId, organizationId: ctx.organization.id, role: null },
        auditContext(ctx),
        'sender-left',
        now,
      );
      audit(
        em,
        auditContext(ctx),
        {
          action: 'member.left',
          targetType: 'member',
          targetId: ctx.membership.id,
          metadata: { userId: ctx.principal.userId },
        },
        now,
      );
      await em.flush();
    });
    await ctx.services.credentialCache.forget([membershipCacheKey(ctx.organization.id, ctx.principal.userId)]);
    return { organizationId: ctx.organization.id };
  });
