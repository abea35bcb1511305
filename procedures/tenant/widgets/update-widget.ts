import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { WidgetSchema } from '../../../entities/widget.js';
import { ApiError, validationMessage, type FieldError } from '../../../server/errors.js';
import { audit, findInProject } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { ConfigInput, definitionOf, storedConfig, WidgetId } from '../../shared/widget-config.js';
import { auditContext } from '../audit-context.js';
import { ProjectId } from '../projects/project.js';
import { assertFormInProject, toWidgetOutput, WidgetFields, WidgetOutput } from './widget.js';

const CHANGEABLE = ['name', 'type', 'published', 'config'] as const;

const NEW_TYPE_NEEDS_CONFIG: FieldError[] = [
  { field: 'config', error: 'Required when the type changes: a whole config of the new type', location: 'body' },
];

/**
 * PUT /api/user/organizations/{organizationId}/projects/{projectId}/widgets/{widgetId}: only the
 * fields sent change. A config replaces the whole config and is judged against the type sent, else
 * the widget's; a new type needs a whole config of that type.
 */
export const updateWidget = tenantProcedure
  .meta({
    openapi: {
      method: 'PUT',
      path: '/user/organizations/{organizationId}/projects/{projectId}/widgets/{widgetId}',
      tags: ['widgets'],
      summary: 'Update a widget',
    },
    message: 'Widget updated successfully',
    scopes: ['projects:write'],
    permission: 'organization:read',
  })
  .input(
    z
      .strictObject({
        organizationId: z.string(),
        projectId: ProjectId,
        widgetId: WidgetId,
        name: WidgetFields.name.optional(),
        type: WidgetFields.type.optional(),
        published: WidgetFields.published.optional(),
        config: ConfigInput.optional(),
      })
      .refine((body) => CHANGEABLE.some((field) => body[field] !== undefined), {
        message: `Send at least one of: ${CHANGEABLE.join(', ')}`,
      }),
  )
  .output(WidgetOutput)
  .mutation(async ({ ctx, input }) => {
    const organizationId = ctx.organization.id;
    const now = ctx.services.now();
    return ctx.em.transactional(async (em) => {
      const found = await findInProject(em, WidgetSchema, input.widgetId, organizationId, input.projectId, 'widget');
      const type = input.type ?? found.type;
      if (type !== found.type && input.config === undefined) {
        throw new ApiError('VALIDATION_ERROR', validationMessage(NEW_TYPE_NEEDS_CONFIG), {
          errors: NEW_TYPE_NEEDS_CONFIG,
        });
      }
      const stored = input.config === undefined ? undefined : storedConfig(definitionOf(type, input.config));
      if (stored) await assertFormInProject(em, organizationId, found.projectId, stored.formId);
      const next = {
        name: input.name ?? found.name,
        type,
        published: input.published ?? found.published,
        ...(stored ?? { config: found.config, formId: found.formId }),
      };
      const changed = CHANGEABLE.filter((field) =>
        field === 'config'
          ? !isDeepStrictEqual([next.config, next.formId], [found.config, found.formId])
          : next[field] !== found[field],
      );
      if (changed.length === 0) return toWidgetOutput(found, ctx.services.config.baseUrl);
      em.assign(found, { ...next, updatedAt: now });
      audit(
        em,
        auditContext(ctx),
        { action: 'widget.updated', targetType: 'widget', targetId: found.id, metadata: { changed } },
        now,
      );
      await em.flush();
      return toWidgetOutput(found, ctx.services.config.baseUrl);
    });
  });
