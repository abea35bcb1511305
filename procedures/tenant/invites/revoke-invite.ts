/**
 * DELETE /api/user/organizations/{organizationId}/invites/{inviteId}.
 *
 * - Only a pending invitation (expired or not) can be revoked; anything else is CONFLICT.
 * - The conditional UPDATE decides the race with a concurrent accept: exactly one of them wins.
 */
import { z } from 'zod';
import { InviteSchema } from '../../../entities/invite.js';
import { ApiError } from '../../../server/errors.js';
import { ULID_PATTERN } from '../../../server/ids.js';
import { audit, findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';

export const notPending = () => new ApiError('CONFLICT', 'This invitation is no longer pending');

export const revokeInvite = tenantProcedure
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/user/organizations/{organizationId}/invites/{inviteId}',
      tags: ['invites'],
      summary: 'Revoke an invitation',
    },
    message: 'Invitation revoked successfully',
    scopes: ['organizations:write'],
    permission: 'organization:manage-members',
  })
  .input(z.object({ organizationId: z.string(), inviteId: z.string().regex(ULID_PATTERN, 'Must be an invite id') }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const organizationId = ctx.organization.id;
    const invite = await findInOrganization(ctx.em, InviteSchema, input.inviteId, organizationId, 'invite');
    if (invite.status !== 'pending') throw notPending();
    await ctx.em.transactional(async (em) => {
      const changed = await em.nativeUpdate(
        InviteSchema,
        { id: invite.id, organizationId, status: 'pending' },
        { status: 'revoked', revokedAt: now },
      );
      if (changed === 0) throw notPending();
      audit(
        em,
        { organizationId, principal: ctx.principal, ip: ctx.ip, userAgent: ctx.userAgent },
        {
          action: 'invite.revoked',
          targetType: 'invite',
          targetId: invite.id,
          metadata: { email: invite.email, role: invite.role },
        },
        now,
      );
    });
    return { id: invite.id };
  });
