import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { FormSchema } from '../../../entities/form.js';
import { audit, findInProject } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { auditContext } from '../audit-context.js';
import { ProjectId } from '../projects/project.js';
import { assertHoneypotFree, FormId, FormInputFields, FormOutput, formOutput } from './form.js';

const CHANGEABLE = ['name', 'published', 'fields', 'honeypotField'] as const;

/**
 * PUT /api/user/organizations/{organizationId}/projects/{projectId}/forms/{formId}: only the fields
 * sent change; `fields` replaces the whole list. Submissions already stored keep what they held.
 */
export const updateForm = tenantProcedure
  .meta({
    openapi: {
      method: 'PUT',
      path: '/user/organizations/{organizationId}/projects/{projectId}/forms/{formId}',
      tags: ['forms'],
      summary: 'Update a public form',
    },
    message: 'Form updated successfully',
    scopes: ['projects:write'],
    permission: 'organization:read',
  })
  .input(
    z
      .strictObject({
        organizationId: z.string(),
        projectId: ProjectId,
        formId: FormId,
        name: FormInputFields.name.optional(),
        published: FormInputFields.published.optional(),
        fields: FormInputFields.fields.optional(),
        honeypotField: FormInputFields.honeypotField.optional(),
      })
      .refine((body) => CHANGEABLE.some((field) => body[field] !== undefined), {
        message: `Send at least one of: ${CHANGEABLE.join(', ')}`,
      }),
  )
  .output(FormOutput)
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    return ctx.em.transactional(async (em) => {
      const form = await findInProject(em, FormSchema, input.formId, ctx.organization.id, input.projectId, 'form');
      const changed = CHANGEABLE.filter(
        (field) => input[field] !== undefined && !isDeepStrictEqual(input[field], form[field]),
      );
      if (changed.length === 0) return formOutput(form, ctx.services.config.baseUrl);
      assertHoneypotFree(input.honeypotField ?? form.honeypotField, input.fields ?? form.fields);
      em.assign(form, { ...Object.fromEntries(changed.map((field) => [field, input[field]])), updatedAt: now });
      audit(
        em,
        auditContext(ctx),
        { action: 'form.updated', targetType: 'form', targetId: form.id, metadata: { changed } },
        now,
      );
      await em.flush();
      return formOutput(form, ctx.services.config.baseUrl);
    });
  });
