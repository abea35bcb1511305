/**
 * POST /api/user/organizations/{organizationId}/invites.
 *
 * - Only an owner may invite an owner; admins invite admins and members. The sender's role is
 *   re-read under a lock as the invitation is written (procedures/shared/invitations.ts).
 * - Only a sender with a verified email address (meta.verifiedEmail).
 * - No invitation for an address that already belongs to a member, nor a second pending one for
 *   the same address (the partial unique index backs the check against a concurrent create).
 * - A non-empty settings.allowedEmailDomains restricts the addresses that may be invited.
 * - An invitation reserves a seat: members plus pending invitations stay within the plan's seats
 *   (PLAN_LIMIT_REACHED), checked under the organization's lock in the invitation's transaction.
 * - Each invitation mail spends the invited address's and the organization's mail budgets
 *   (procedures/shared/mail-budget.ts).
 * - The invitation and its audit entry commit together; the email follows the commit.
 */
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { InviteSchema, type Invite } from '../../../entities/invite.js';
import { OrganizationSchema } from '../../../entities/organization.js';
import { UserSchema } from '../../../entities/user.js';
import { ApiError } from '../../../server/errors.js';
import { newId } from '../../../server/ids.js';
import { audit } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { Email } from '../../auth/schemas.js';
import { assertSeatAvailable } from '../../shared/entitlements.js';
import { lockSenderRole } from '../../shared/invitations.js';
import { spendMailBudget } from '../../shared/mail-budget.js';
import { InviteOutput, InviteRole, issueInviteToken, sendInvite, toInviteOutput } from './invite.js';

const alreadyPending = () =>
  new ApiError('CONFLICT', 'A pending invitation for this email already exists; resend it instead of creating another');

export const createInvite = tenantProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/organizations/{organizationId}/invites',
      tags: ['invites'],
      summary: 'Invite someone by email',
    },
    message: 'Invitation sent successfully',
    status: 201,
    scopes: ['organizations:write'],
    permission: 'organization:manage-members',
    verifiedEmail: true,
    errors: ['PLAN_LIMIT_REACHED'],
  })
  .input(z.strictObject({ organizationId: z.string(), email: Email, role: InviteRole.default('member') }))
  .output(InviteOutput)
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const organizationId = ctx.organization.id;
    const [organization, inviter] = await Promise.all([
      ctx.em.fork().findOneOrFail(OrganizationSchema, { id: organizationId }, { fields: ['settings'] }),
      ctx.em.fork().findOneOrFail(UserSchema, { id: ctx.principal.userId }, { fields: ['id', 'fullName'] }),
    ]);
    const allowed = organization.settings.allowedEmailDomains ?? [];
    const domain = input.email.slice(input.email.lastIndexOf('@') + 1);
    if (allowed.length > 0 && !allowed.some((d) => d.toLowerCase() === domain)) {
      const error = `Invitations are limited to: ${allowed.join(', ')}`;
      throw new ApiError('VALIDATION_ERROR', `Invalid email: ${error}`, {
        errors: [{ field: 'email', error, location: 'body' }],
      });
    }
    const [memberRows, pending] = await Promise.all([
      ctx.em
        .getConnection()
        .execute<{ taken: boolean }[]>(
          'select exists(select 1 from members m join users u on u.id = m.user_id where m.organization_id = ? and u.email = ?) as taken',
          [organizationId, input.email],
        ),
      ctx.em.fork().count(InviteSchema, { organizationId, email: input.email, status: 'pending' }),
    ]);
    if (memberRows[0]?.taken)
      throw new ApiError('CONFLICT', 'This email already belongs to a member of the organization');
    if (pending > 0) throw alreadyPending();
    await spendMailBudget(ctx, 'invite', input.email, organizationId);

    const { token, tokenHash, expiresAt } = issueInviteToken(now);
    let invite: Invite;
    try {
      invite = await ctx.em.transactional(async (em) => {
        await lockSenderRole(em, organizationId, ctx.principal.userId, input.role);
        await assertSeatAvailable(em, ctx.services.config, organizationId, 'new', now);
        const created = em.create(InviteSchema, {
          id: newId(),
          organizationId,
          email: input.email,
          role: input.role,
          tokenHash,
          status: 'pending',
          invitedByUserId: ctx.principal.userId,
          expiresAt,
          createdAt: now,
          acceptedAt: null,
          revokedAt: null,
        });
        em.persist(created);
        audit(
          em,
          { organizationId, principal: ctx.principal, ip: ctx.ip, userAgent: ctx.userAgent },
          {
            action: 'invite.created',
            targetType: 'invite',
            targetId: created.id,
            metadata: { email: input.email, role: input.role },
          },
          now,
        );
        return created;
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw alreadyPending();
      throw error;
    }
    sendInvite(ctx, invite, token, ctx.organization.name, inviter.fullName);
    return toInviteOutput(invite, { id: inviter.id, fullName: inviter.fullName }, now);
  });
