import { z } from 'zod';
import { OrganizationSchema } from '../../../entities/organization.js';
import { ApiError } from '../../../server/errors.js';
import { organizationCacheKeys } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';

/**
 * DELETE /api/user/organizations/{organizationId}: an owner, signed in (no token), confirming with
 * the organization's slug in the body. Members, invites, projects and the audit log go with it.
 */
export const deleteOrganization = tenantProcedure
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/user/organizations/{organizationId}',
      tags: ['organizations'],
      summary: 'Delete an organization',
    },
    message: 'Organization deleted successfully',
    sessionOnly: true,
    ownerOnly: true,
  })
  .input(z.object({ organizationId: z.string(), confirm: z.string().min(1, 'Send the organization slug to confirm') }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    if (input.confirm !== ctx.organization.slug) {
      throw new ApiError('VALIDATION_ERROR', 'The confirmation does not match the organization slug', {
        errors: [
          { field: 'confirm', error: `Must be the organization slug (${ctx.organization.slug})`, location: 'body' },
        ],
      });
    }
    const memberships = await organizationCacheKeys(ctx.em, ctx.organization.id);
    await ctx.em.nativeDelete(OrganizationSchema, { id: ctx.organization.id });
    await ctx.services.credentialCache.forget(memberships);
    return { id: ctx.organization.id };
  });
