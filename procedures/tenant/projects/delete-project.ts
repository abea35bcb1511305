import { z } from 'zod';
import { ProjectSchema } from '../../../entities/project.js';
import { audit, findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext, ProjectId } from './project.js';

/** DELETE /api/user/organizations/{organizationId}/projects/{projectId} */
export const deleteProject = tenantProcedure
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/user/organizations/{organizationId}/projects/{projectId}',
      tags: ['projects'],
      summary: 'Delete a project',
    },
    message: 'Project deleted successfully',
    scopes: ['projects:write'],
    permission: 'organization:read',
  })
  .input(z.object({ organizationId: z.string(), projectId: ProjectId }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    await ctx.em.transactional(async (em) => {
      const project = await findInOrganization(em, ProjectSchema, input.projectId, ctx.organization.id, 'project');
      em.remove(project);
      audit(
        em,
        auditContext(ctx),
        {
          action: 'project.deleted',
          targetType: 'project',
          targetId: project.id,
          metadata: { name: project.name, slug: project.slug },
        },
        now,
      );
      await em.flush();
    });
    return { id: input.projectId };
  });
