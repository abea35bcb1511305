import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { OrganizationSchema } from '../../../entities/organization.js';
import { ApiError } from '../../../server/errors.js';
import { userProcedure } from '../../../server/trpc.js';
import {
  createOwnedOrganization,
  OrganizationName,
  OrganizationOutput,
  organizationOutput,
  Slug,
  uniqueSlug,
} from '../../tenant/organization/organization.js';

const slugTaken = () => new ApiError('CONFLICT', 'This slug is taken; choose another');

/**
 * POST /api/user/organizations: a new organization whose creator is its owner. A key pinned to one
 * organization cannot reach beyond it, so it cannot create another (FORBIDDEN).
 */
export const createOrganization = userProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/organizations',
      tags: ['organizations'],
      summary: 'Create an organization',
    },
    message: 'Organization created successfully',
    status: 201,
    scopes: ['organizations:write'],
  })
  .input(z.strictObject({ name: OrganizationName, slug: Slug.optional() }))
  .output(OrganizationOutput.extend({ role: z.literal('owner') }))
  .mutation(async ({ ctx, input }) => {
    if (ctx.principal.organizationId)
      throw new ApiError('FORBIDDEN', 'This credential is pinned to one organization and cannot create another');
    const now = ctx.services.now();
    // A derived slug gets a random suffix; a chosen one is taken as is or refused.
    const slug = input.slug ?? uniqueSlug(input.name);
    try {
      const organization = await ctx.em.transactional(async (em) => {
        if (input.slug && (await em.count(OrganizationSchema, { slug }))) throw slugTaken();
        const organization = createOwnedOrganization(em, {
          name: input.name,
          slug,
          owner: ctx.principal,
          ip: ctx.ip,
          userAgent: ctx.userAgent,
          now,
        });
        await em.flush();
        return organization;
      });
      return { ...organizationOutput(organization), role: 'owner' as const };
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw slugTaken();
      throw error;
    }
  });
