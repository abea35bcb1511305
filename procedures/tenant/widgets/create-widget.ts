import { z } from 'zod';
import { ProjectSchema } from '../../../entities/project.js';
import { WidgetSchema } from '../../../entities/widget.js';
import { newId } from '../../../server/ids.js';
import { audit, findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { ConfigInput, definitionOf, storedConfig } from '../../shared/widget-config.js';
import { auditContext } from '../audit-context.js';
import { ProjectId } from '../projects/project.js';
import { assertFormInProject, toWidgetOutput, WidgetFields, WidgetOutput } from './widget.js';

/** POST /api/user/organizations/{organizationId}/projects/{projectId}/widgets: unpublished unless said otherwise. */
export const createWidget = tenantProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/organizations/{organizationId}/projects/{projectId}/widgets',
      tags: ['widgets'],
      summary: 'Create a widget',
    },
    message: 'Widget created successfully',
    status: 201,
    scopes: ['projects:write'],
    permission: 'organization:read',
  })
  .input(
    z.strictObject({
      organizationId: z.string(),
      projectId: ProjectId,
      name: WidgetFields.name,
      type: WidgetFields.type,
      published: WidgetFields.published.default(false),
      config: ConfigInput,
    }),
  )
  .output(WidgetOutput)
  .mutation(async ({ ctx, input }) => {
    const organizationId = ctx.organization.id;
    const definition = definitionOf(input.type, input.config);
    const now = ctx.services.now();
    return ctx.em.transactional(async (em) => {
      await findInOrganization(em, ProjectSchema, input.projectId, organizationId, 'project');
      const { formId, config } = storedConfig(definition);
      await assertFormInProject(em, organizationId, input.projectId, formId);
      const widget = em.create(WidgetSchema, {
        id: newId(),
        organizationId,
        projectId: input.projectId,
        name: input.name,
        type: definition.type,
        published: input.published,
        config,
        formId,
        createdByUserId: ctx.principal.userId,
        createdAt: now,
        updatedAt: now,
      });
      em.persist(widget);
      audit(
        em,
        auditContext(ctx),
        {
          action: 'widget.created',
          targetType: 'widget',
          targetId: widget.id,
          metadata: { name: widget.name, type: widget.type, projectId: widget.projectId },
        },
        now,
      );
      await em.flush();
      return toWidgetOutput(widget, ctx.services.config.baseUrl);
    });
  });
