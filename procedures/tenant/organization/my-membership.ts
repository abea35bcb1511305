import { z } from 'zod';
import { PERMISSIONS, ROLES } from '../../../server/scopes.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { iso, IsoDate } from '../../auth/schemas.js';

/** GET /api/user/organizations/{organizationId}/my-membership: my role and what it lets me do. */
export const myMembership = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/my-membership',
      tags: ['members'],
      summary: 'My role and permissions',
    },
    message: 'Membership fetched successfully',
    scopes: ['organizations:read'],
    permission: 'organization:read',
  })
  .input(z.object({ organizationId: z.string() }))
  .output(
    z.object({
      memberId: z.string(),
      role: z.enum(ROLES),
      permissions: z.array(z.enum(PERMISSIONS)),
      joinedAt: IsoDate,
      organization: z.object({ id: z.string(), name: z.string(), slug: z.string() }),
    }),
  )
  .query(({ ctx }) => ({
    memberId: ctx.membership.id,
    role: ctx.membership.role,
    permissions: [...ctx.membership.permissions],
    joinedAt: iso(ctx.membership.joinedAt),
    organization: ctx.organization,
  }));
