import { z } from 'zod';
import { FormSchema } from '../../../entities/form.js';
import { audit, findInProject } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext } from '../audit-context.js';
import { ProjectId } from '../projects/project.js';
import { FormId } from './form.js';

/** DELETE /api/user/organizations/{organizationId}/projects/{projectId}/forms/{formId}: its submissions go with it. */
export const deleteForm = tenantProcedure
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/user/organizations/{organizationId}/projects/{projectId}/forms/{formId}',
      tags: ['forms'],
      summary: 'Delete a public form and its submissions',
    },
    message: 'Form deleted successfully',
    scopes: ['projects:write'],
    permission: 'organization:read',
  })
  .input(z.object({ organizationId: z.string(), projectId: ProjectId, formId: FormId }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    await ctx.em.transactional(async (em) => {
      const form = await findInProject(em, FormSchema, input.formId, ctx.organization.id, input.projectId, 'form');
      em.remove(form);
      audit(
        em,
        auditContext(ctx),
        {
          action: 'form.deleted',
          targetType: 'form',
          targetId: form.id,
          metadata: { name: form.name, projectId: form.projectId },
        },
        now,
      );
      await em.flush();
    });
    return { id: input.formId };
  });
