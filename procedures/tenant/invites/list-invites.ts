import type { ObjectQuery } from '@mikro-orm/core';
import { z } from 'zod';
import { InviteSchema, type Invite } from '../../../entities/invite.js';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { INVITE_STATUSES, InviteOutput, invitersById, toInviteOutput, type InviteView } from './invite.js';

/** "expired" is not stored: it is a pending row past its expiry. */
function statusFilter(status: InviteView | undefined, now: Date): ObjectQuery<Invite> {
  switch (status) {
    case undefined:
      return {};
    case 'pending':
      return { status: 'pending', expiresAt: { $gt: now } };
    case 'expired':
      return { status: 'pending', expiresAt: { $lte: now } };
    default:
      return { status };
  }
}

/** GET /api/user/organizations/{organizationId}/invites: every invitation, newest first. */
export const listInvites = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/invites',
      tags: ['invites'],
      summary: 'List invitations',
    },
    message: 'Items fetched successfully',
    scopes: ['organizations:read'],
    permission: 'organization:read',
  })
  .input(
    PageInput.extend({
      organizationId: z.string(),
      status: z.enum(INVITE_STATUSES, 'Must be one of pending, accepted, revoked, expired').optional(),
    }),
  )
  .output(pageOf(InviteOutput))
  .query(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const [invites, total] = await ctx.em.findAndCount(
      InviteSchema,
      { organizationId: ctx.organization.id, ...statusFilter(input.status, now) },
      { orderBy: { createdAt: 'desc', id: 'desc' }, offset: input.offset, limit: input.limit },
    );
    const inviters = await invitersById(
      ctx.em,
      invites.map((i) => i.invitedByUserId),
    );
    const items = invites.map((i) =>
      toInviteOutput(i, (i.invitedByUserId && inviters.get(i.invitedByUserId)) || null, now),
    );
    return toPage(items, total, input);
  });
