/**
 * GET /api/user/invites: live invitations addressed to my email.
 *
 * - Only once the email is verified: an address one merely typed in at sign-up must not reveal
 *   which organizations invited it. Unverified callers get an empty page, not an error.
 * - A key pinned to one organization sees only that organization's invitations.
 */
import { z } from 'zod';
import { InviteSchema } from '../../../entities/invite.js';
import { OrganizationSchema } from '../../../entities/organization.js';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { userProcedure } from '../../../server/trpc.js';
import { iso, IsoDate } from '../../auth/schemas.js';
import { InviteRole, InviterOutput, invitersById } from '../../tenant/invites/invite.js';

const OrganizationOutput = z.object({ id: z.string(), name: z.string(), slug: z.string() });

const MyInviteOutput = z.object({
  id: z.string(),
  organization: OrganizationOutput,
  role: InviteRole,
  invitedBy: InviterOutput,
  expiresAt: IsoDate,
  createdAt: IsoDate,
});

export const listMyInvites = userProcedure
  .meta({
    openapi: { method: 'GET', path: '/user/invites', tags: ['invites'], summary: 'Invitations to my verified email' },
    message: 'Items fetched successfully',
    scopes: ['organizations:read'],
  })
  .input(PageInput)
  .output(pageOf(MyInviteOutput))
  .query(async ({ ctx, input }) => {
    if (!ctx.principal.emailVerified) return toPage([], 0, input);
    const [invites, total] = await ctx.em.findAndCount(
      InviteSchema,
      {
        email: ctx.principal.email,
        status: 'pending',
        expiresAt: { $gt: ctx.services.now() },
        ...(ctx.principal.organizationId ? { organizationId: ctx.principal.organizationId } : {}),
      },
      { orderBy: { createdAt: 'desc', id: 'desc' }, offset: input.offset, limit: input.limit },
    );
    const [organizations, inviters] = await Promise.all([
      ctx.em
        .fork()
        .find(
          OrganizationSchema,
          { id: { $in: invites.map((i) => i.organizationId) } },
          { fields: ['id', 'name', 'slug'] },
        ),
      invitersById(
        ctx.em.fork(),
        invites.map((i) => i.invitedByUserId),
      ),
    ]);
    const byId = new Map(organizations.map((o) => [o.id, { id: o.id, name: o.name, slug: o.slug }]));
    const items = invites.map((i) => ({
      id: i.id,
      organization: byId.get(i.organizationId)!,
      role: i.role,
      invitedBy: (i.invitedByUserId && inviters.get(i.invitedByUserId)) || null,
      expiresAt: iso(i.expiresAt),
      createdAt: iso(i.createdAt),
    }));
    return toPage(items, total, input);
  });
