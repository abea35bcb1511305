import { z } from 'zod';
import { FormSchema } from '../../../entities/form.js';
import { findInProject } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { ProjectId } from '../projects/project.js';
import { FormId, FormOutput, formOutput } from './form.js';

/** GET /api/user/organizations/{organizationId}/projects/{projectId}/forms/{formId} */
export const getForm = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/projects/{projectId}/forms/{formId}',
      tags: ['forms'],
      summary: 'Get a public form',
    },
    message: 'Form fetched successfully',
    scopes: ['projects:read'],
    permission: 'organization:read',
  })
  .input(z.object({ organizationId: z.string(), projectId: ProjectId, formId: FormId }))
  .output(FormOutput)
  .query(async ({ ctx, input }) => {
    const form = await findInProject(ctx.em, FormSchema, input.formId, ctx.organization.id, input.projectId, 'form');
    return formOutput(form, ctx.services.config.baseUrl);
  });
