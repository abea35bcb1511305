import { z } from 'zod';
import { FormSchema } from '../../../entities/form.js';
import { ProjectSchema } from '../../../entities/project.js';
import { newId } from '../../../server/ids.js';
import { audit, findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { defaultHoneypot } from '../../shared/form-fields.js';
import { auditContext } from '../audit-context.js';
import { ProjectId } from '../projects/project.js';
import { assertHoneypotFree, FormInputFields, FormOutput, formOutput } from './form.js';

/** POST /api/user/organizations/{organizationId}/projects/{projectId}/forms: a draft (unpublished) unless said otherwise. */
export const createForm = tenantProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/organizations/{organizationId}/projects/{projectId}/forms',
      tags: ['forms'],
      summary: 'Create a public form',
    },
    message: 'Form created successfully',
    status: 201,
    scopes: ['projects:write'],
    permission: 'organization:read',
  })
  .input(
    z.strictObject({
      organizationId: z.string(),
      projectId: ProjectId,
      name: FormInputFields.name,
      published: FormInputFields.published.default(false),
      fields: FormInputFields.fields,
      honeypotField: FormInputFields.honeypotField.optional(),
    }),
  )
  .output(FormOutput)
  .mutation(async ({ ctx, input }) => {
    const honeypotField = input.honeypotField ?? defaultHoneypot(input.fields);
    assertHoneypotFree(honeypotField, input.fields);
    const now = ctx.services.now();
    return ctx.em.transactional(async (em) => {
      const project = await findInOrganization(em, ProjectSchema, input.projectId, ctx.organization.id, 'project');
      const form = em.create(FormSchema, {
        id: newId(),
        organizationId: project.organizationId,
        projectId: project.id,
        name: input.name,
        published: input.published,
        fields: input.fields,
        honeypotField,
        createdByUserId: ctx.principal.userId,
        createdAt: now,
        updatedAt: now,
      });
      em.persist(form);
      audit(
        em,
        auditContext(ctx),
        {
          action: 'form.created',
          targetType: 'form',
          targetId: form.id,
          metadata: { name: form.name, projectId: project.id, published: form.published },
        },
        now,
      );
      await em.flush();
      return formOutput(form, ctx.services.config.baseUrl);
    });
  });
