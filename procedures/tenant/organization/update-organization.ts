import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { OrganizationSchema } from '../../../entities/organization.js';
import { ApiError } from '../../../server/errors.js';
import { audit, organizationCacheKeys } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext } from '../audit-context.js';
import { OrganizationName, OrganizationOutput, organizationOutput, Slug } from './organization.js';

/** PUT /api/user/organizations/{organizationId}: rename, or change the slug. */
export const updateOrganization = tenantProcedure
  .meta({
    openapi: {
      method: 'PUT',
      path: '/user/organizations/{organizationId}',
      tags: ['organizations'],
      summary: 'Rename an organization or change its slug',
    },
    message: 'Organization updated successfully',
    scopes: ['organizations:write'],
    permission: 'organization:manage-settings',
  })
  .input(
    z
      .strictObject({ organizationId: z.string(), name: OrganizationName.optional(), slug: Slug.optional() })
      .refine((v) => v.name !== undefined || v.slug !== undefined, {
        message: 'Send a name or a slug',
        path: ['name'],
      }),
  )
  .output(OrganizationOutput)
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    try {
      const { organization, stale } = await ctx.em.transactional(async (em) => {
        const organization = await em.findOneOrFail(OrganizationSchema, { id: ctx.organization.id });
        const changed: Record<string, { from: string; to: string }> = {};
        if (input.name !== undefined && input.name !== organization.name)
          changed.name = { from: organization.name, to: input.name };
        if (input.slug !== undefined && input.slug !== organization.slug) {
          if (await em.count(OrganizationSchema, { slug: input.slug }))
            throw new ApiError('CONFLICT', 'This slug is taken; choose another');
          changed.slug = { from: organization.slug, to: input.slug };
        }
        if (changed.name) organization.name = changed.name.to;
        if (changed.slug) organization.slug = changed.slug.to;
        organization.updatedAt = now;
        audit(
          em,
          auditContext(ctx),
          {
            action: 'organization.updated',
            targetType: 'organization',
            targetId: organization.id,
            metadata: { changed },
          },
          now,
        );
        await em.flush();
        // Memberships carry the organization's name and slug: their cached copies go once this commits.
        return { organization, stale: await organizationCacheKeys(em, organization.id) };
      });
      await ctx.services.credentialCache.forget(stale);
      return organizationOutput(organization);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException)
        throw new ApiError('CONFLICT', 'This slug is taken; choose another');
      throw error;
    }
  });
