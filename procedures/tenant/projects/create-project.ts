import { z } from 'zod';
import { ProjectSchema } from '../../../entities/project.js';
import { randomToken } from '../../../server/crypto.js';
import { newId } from '../../../server/ids.js';
import { audit } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { assertProjectAvailable } from '../../shared/entitlements.js';
import {
  assertSlugFree,
  auditContext,
  ProjectFields,
  ProjectOutput,
  projectOutput,
  slugFor,
  withSlugGuard,
} from './project.js';

/**
 * POST /api/user/organizations/{organizationId}/projects: the slug is derived from the name when
 * omitted. One project beyond the plan's is PLAN_LIMIT_REACHED, checked under the organization's
 * lock in the project's transaction.
 */
export const createProject = tenantProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/organizations/{organizationId}/projects',
      tags: ['projects'],
      summary: 'Create a project',
    },
    message: 'Project created successfully',
    status: 201,
    scopes: ['projects:write'],
    permission: 'organization:read',
    errors: ['PLAN_LIMIT_REACHED'],
  })
  .input(
    z.strictObject({
      organizationId: z.string(),
      name: ProjectFields.name,
      slug: ProjectFields.slug.optional(),
      website: ProjectFields.website.optional(),
      description: ProjectFields.description.optional(),
      status: ProjectFields.status.default('draft'),
      allowedOrigins: ProjectFields.allowedOrigins.optional(),
    }),
  )
  .output(ProjectOutput)
  .mutation(async ({ ctx, input }) => {
    const organizationId = ctx.organization.id;
    const now = ctx.services.now();
    return withSlugGuard(input.slug, () =>
      ctx.em.transactional(async (em) => {
        await assertProjectAvailable(em, ctx.services.config, organizationId, now);
        if (input.slug) await assertSlugFree(em, organizationId, input.slug);
        const created = em.create(ProjectSchema, {
          id: newId(),
          organizationId,
          name: input.name,
          slug: input.slug ?? (await slugFor(em, organizationId, input.name)),
          website: input.website ?? null,
          description: input.description ?? null,
          status: input.status,
          publishableKey: `pk_${randomToken(24)}`,
          allowedOrigins: input.allowedOrigins ?? [],
          createdByUserId: ctx.principal.userId,
          createdAt: now,
          updatedAt: now,
        });
        em.persist(created);
        audit(
          em,
          auditContext(ctx),
          {
            action: 'project.created',
            targetType: 'project',
            targetId: created.id,
            metadata: { name: created.name, slug: created.slug },
          },
          now,
        );
        await em.flush();
        // The answer is read in the same transaction: once it commits, nothing can turn it into an error.
        return projectOutput(em, created);
      }),
    );
  });
