import { z } from 'zod';
import { ProjectSchema } from '../../../entities/project.js';
import { findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { ProjectId, ProjectOutput, projectOutput } from './project.js';

/** GET /api/user/organizations/{organizationId}/projects/{projectId} */
export const getProject = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/projects/{projectId}',
      tags: ['projects'],
      summary: 'Get a project',
    },
    message: 'Project fetched successfully',
    scopes: ['projects:read'],
    permission: 'organization:read',
  })
  .input(z.object({ organizationId: z.string(), projectId: ProjectId }))
  .output(ProjectOutput)
  .query(async ({ ctx, input }) => {
    const project = await findInOrganization(ctx.em, ProjectSchema, input.projectId, ctx.organization.id, 'project');
    return projectOutput(ctx.em, project);
  });
