import { z } from 'zod';
import { WidgetSchema } from '../../../entities/widget.js';
import { findInProject } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { WidgetId } from '../../shared/widget-config.js';
import { ProjectId } from '../projects/project.js';
import { toWidgetOutput, WidgetOutput } from './widget.js';

/** GET /api/user/organizations/{organizationId}/projects/{projectId}/widgets/{widgetId}: published or not. */
export const getWidget = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/projects/{projectId}/widgets/{widgetId}',
      tags: ['widgets'],
      summary: 'Get a widget',
    },
    message: 'Widget fetched successfully',
    scopes: ['projects:read'],
    permission: 'organization:read',
  })
  .input(z.object({ organizationId: z.string(), projectId: ProjectId, widgetId: WidgetId }))
  .output(WidgetOutput)
  .query(async ({ ctx, input }) => {
    const widget = await findInProject(
      ctx.em,
      WidgetSchema,
      input.widgetId,
      ctx.organization.id,
      input.projectId,
      'widget',
    );
    return toWidgetOutput(widget, ctx.services.config.baseUrl);
  });
