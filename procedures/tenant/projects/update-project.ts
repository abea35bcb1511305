import { z } from 'zod';
import { ProjectSchema } from '../../../entities/project.js';
import { audit, findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import {
  assertSlugFree,
  auditContext,
  ProjectFields,
  ProjectId,
  ProjectOutput,
  projectOutput,
  withSlugGuard,
} from './project.js';

const CHANGEABLE = ['name', 'slug', 'website', 'description', 'status', 'allowedOrigins'] as const;

const same = (a: unknown, b: unknown) =>
  a === b || (Array.isArray(a) && Array.isArray(b) && a.join('\n') === b.join('\n'));

/** PUT /api/user/organizations/{organizationId}/projects/{projectId}: only the fields sent change. */
export const updateProject = tenantProcedure
  .meta({
    openapi: {
      method: 'PUT',
      path: '/user/organizations/{organizationId}/projects/{projectId}',
      tags: ['projects'],
      summary: 'Update a project',
    },
    message: 'Project updated successfully',
    scopes: ['projects:write'],
    permission: 'organization:read',
  })
  .input(
    z
      .strictObject({
        organizationId: z.string(),
        projectId: ProjectId,
        name: ProjectFields.name.optional(),
        slug: ProjectFields.slug.optional(),
        website: ProjectFields.website.optional(),
        description: ProjectFields.description.optional(),
        status: ProjectFields.status.optional(),
        allowedOrigins: ProjectFields.allowedOrigins.optional(),
      })
      .refine((body) => CHANGEABLE.some((field) => body[field] !== undefined), {
        message: `Send at least one of: ${CHANGEABLE.join(', ')}`,
      }),
  )
  .output(ProjectOutput)
  .mutation(async ({ ctx, input }) => {
    const organizationId = ctx.organization.id;
    const now = ctx.services.now();
    return withSlugGuard(input.slug, () =>
      ctx.em.transactional(async (em) => {
        const found = await findInOrganization(em, ProjectSchema, input.projectId, organizationId, 'project');
        const changed = CHANGEABLE.filter((field) => input[field] !== undefined && !same(input[field], found[field]));
        if (changed.length === 0) return projectOutput(em, found);
        if (changed.includes('slug')) await assertSlugFree(em, organizationId, input.slug!, found.id);
        em.assign(found, { ...Object.fromEntries(changed.map((field) => [field, input[field]])), updatedAt: now });
        audit(
          em,
          auditContext(ctx),
          { action: 'project.updated', targetType: 'project', targetId: found.id, metadata: { changed } },
          now,
        );
        await em.flush();
        return projectOutput(em, found);
      }),
    );
  });
