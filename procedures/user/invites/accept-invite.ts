/**
 * POST /api/user/invites/{token}/accept.
 *
 * - Unknown, revoked, accepted and expired tokens get one answer (NOT_FOUND).
 * - Only the verified owner of the invited address may accept it (an unverified caller is refused
 *   before the token is even looked up). A key pinned to one organization cannot join another.
 * - One transaction: a conditional UPDATE … WHERE status = 'pending' claims the invitation, then the
 *   membership is inserted, if the plan's seats still hold the members with the newcomer (the
 *   invitation reserved the seat; after a downgrade, PLAN_LIMIT_REACHED and the invitation stays pending). Of two concurrent accepts the second UPDATE finds the row no longer
 *   pending, and members(organization_id, user_id) rejects a second membership however it arrives.
 */
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { InviteSchema, type Invite } from '../../../entities/invite.js';
import { MemberSchema, OrganizationSchema } from '../../../entities/organization.js';
import { sha256Hex } from '../../../server/crypto.js';
import { ApiError } from '../../../server/errors.js';
import { newId } from '../../../server/ids.js';
import { audit } from '../../../server/tenancy.js';
import { userProcedure } from '../../../server/trpc.js';
import { assertSeatAvailable } from '../../shared/entitlements.js';
import { InviteRole } from '../../tenant/invites/invite.js';

const invalidInvite = () => new ApiError('NOT_FOUND', 'This invitation is invalid, expired or no longer pending');
const alreadyMember = () => new ApiError('CONFLICT', 'You are already a member of this organization');

interface ClaimedRow {
  id: string;
  organization_id: string;
  role: Invite['role'];
}

export const acceptInvite = userProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/invites/{token}/accept',
      tags: ['invites'],
      summary: 'Accept an invitation',
    },
    message: 'Invitation accepted',
    status: 201,
    scopes: ['organizations:write'],
    verifiedEmail: true,
    errors: ['PLAN_LIMIT_REACHED'],
  })
  .input(z.object({ token: z.string().min(1).max(256) }))
  .output(
    z.object({
      organization: z.object({ id: z.string(), name: z.string(), slug: z.string() }),
      role: InviteRole,
      memberId: z.string(),
    }),
  )
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const { principal } = ctx;
    const tokenHash = sha256Hex(input.token);
    // Read first, to answer precisely; the claim below re-checks everything atomically.
    const invite = await ctx.em.findOne(InviteSchema, { tokenHash, status: 'pending', expiresAt: { $gt: now } });
    if (!invite) throw invalidInvite();
    if (invite.email !== principal.email.toLowerCase())
      throw new ApiError('FORBIDDEN', 'This invitation was sent to another address');
    if (principal.organizationId && principal.organizationId !== invite.organizationId) {
      throw new ApiError('FORBIDDEN', 'This credential is pinned to another organization');
    }
    if (await ctx.em.count(MemberSchema, { organizationId: invite.organizationId, userId: principal.userId }))
      throw alreadyMember();

    try {
      return await ctx.em.transactional(async (em) => {
        const [claimed] = await em.getConnection().execute<ClaimedRow[]>(
          `update invites set status = 'accepted', accepted_at = ?
            where token_hash = ? and status = 'pending' and expires_at > ? and email = ?
            returning id, organization_id, role`,
          [now, tokenHash, now, invite.email],
          'all',
          em.getTransactionContext(),
        );
        if (!claimed) throw invalidInvite();
        await assertSeatAvailable(em, ctx.services.config, claimed.organization_id, 'reserved', now);
        const memberId = newId();
        await em.insert(MemberSchema, {
          id: memberId,
          organizationId: claimed.organization_id,
          userId: principal.userId,
          role: claimed.role,
          createdAt: now,
        });
        audit(
          em,
          { organizationId: claimed.organization_id, principal, ip: ctx.ip, userAgent: ctx.userAgent },
          {
            action: 'member.joined',
            targetType: 'member',
            targetId: memberId,
            metadata: { inviteId: claimed.id, role: claimed.role, userId: principal.userId },
          },
          now,
        );
        const organization = await em.findOneOrFail(
          OrganizationSchema,
          { id: claimed.organization_id },
          { fields: ['id', 'name', 'slug'] },
        );
        return {
          organization: { id: organization.id, name: organization.name, slug: organization.slug },
          role: claimed.role,
          memberId,
        };
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw alreadyMember();
      throw error;
    }
  });
