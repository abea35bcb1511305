/**
 * POST /api/user/organizations/{organizationId}/invites/{inviteId}/resend.
 *
 * - Only a pending invitation (expired ones too) is resent; anything else is CONFLICT.
 * - A new token replaces the old one, so the previous email's link stops working, and the 7 days
 *   start again.
 * - Reissuing an owner invitation is inviting an owner: owners only, as on create; and it spends the
 *   same mail budgets.
 * - Resending an expired invitation reserves its seat again, so it needs a free seat like a new one
 *   (PLAN_LIMIT_REACHED); a live one keeps the seat it holds.
 * - The new link goes out on the resender's authority, so the resender becomes the invitation's
 *   sender: should they later be removed or demoted, it is revoked with their other invitations.
 */
import { z } from 'zod';
import { InviteSchema } from '../../../entities/invite.js';
import { UserSchema } from '../../../entities/user.js';
import { ULID_PATTERN } from '../../../server/ids.js';
import { audit, findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { InviteOutput, issueInviteToken, sendInvite, toInviteOutput } from './invite.js';
import { notPending } from './revoke-invite.js';
import { assertSeatAvailable } from '../../shared/entitlements.js';
import { lockSenderRole } from '../../shared/invitations.js';
import { spendMailBudget } from '../../shared/mail-budget.js';

export const resendInvite = tenantProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/organizations/{organizationId}/invites/{inviteId}/resend',
      tags: ['invites'],
      summary: 'Resend an invitation with a new link',
    },
    message: 'Invitation resent successfully',
    scopes: ['organizations:write'],
    permission: 'organization:manage-members',
    verifiedEmail: true,
    errors: ['PLAN_LIMIT_REACHED'],
  })
  .input(z.object({ organizationId: z.string(), inviteId: z.string().regex(ULID_PATTERN, 'Must be an invite id') }))
  .output(InviteOutput)
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const organizationId = ctx.organization.id;
    const invite = await findInOrganization(ctx.em, InviteSchema, input.inviteId, organizationId, 'invite');
    if (invite.status !== 'pending') throw notPending();
    await spendMailBudget(ctx, 'invite', invite.email, organizationId);
    const { token, tokenHash, expiresAt } = issueInviteToken(now);
    const inviter = await ctx.em.transactional(async (em) => {
      await lockSenderRole(em, organizationId, ctx.principal.userId, invite.role);
      if (invite.expiresAt <= now) await assertSeatAvailable(em, ctx.services.config, organizationId, 'new', now);
      const changed = await em.nativeUpdate(
        InviteSchema,
        { id: invite.id, organizationId, status: 'pending' },
        { tokenHash, expiresAt, invitedByUserId: ctx.principal.userId },
      );
      if (changed === 0) throw notPending();
      audit(
        em,
        { organizationId, principal: ctx.principal, ip: ctx.ip, userAgent: ctx.userAgent },
        {
          action: 'invite.resent',
          targetType: 'invite',
          targetId: invite.id,
          metadata: { email: invite.email, role: invite.role },
        },
        now,
      );
      return em.findOne(UserSchema, { id: ctx.principal.userId }, { fields: ['id', 'fullName'] });
    });
    const resent = { ...invite, tokenHash, expiresAt, invitedByUserId: ctx.principal.userId };
    sendInvite(ctx, resent, token, ctx.organization.name, inviter?.fullName ?? null);
    return toInviteOutput(resent, inviter ? { id: inviter.id, fullName: inviter.fullName } : null, now);
  });
