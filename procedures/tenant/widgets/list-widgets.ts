import { z } from 'zod';
import { ProjectSchema } from '../../../entities/project.js';
import { WidgetSchema } from '../../../entities/widget.js';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { likePattern } from '../../shared/search.js';
import { WidgetType } from '../../shared/widget-config.js';
import { ProjectId } from '../projects/project.js';
import { toWidgetOutput, WidgetOutput } from './widget.js';

/** GET /api/user/organizations/{organizationId}/projects/{projectId}/widgets: newest first; `q` searches names. */
export const listWidgets = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/projects/{projectId}/widgets',
      tags: ['widgets'],
      summary: 'List widgets',
    },
    message: 'Items fetched successfully',
    scopes: ['projects:read'],
    permission: 'organization:read',
  })
  .input(
    PageInput.extend({
      organizationId: z.string(),
      projectId: ProjectId,
      q: z.string().max(100, 'Must be at most 100 characters').optional(),
      type: WidgetType.optional(),
    }),
  )
  .output(pageOf(WidgetOutput))
  .query(async ({ ctx, input }) => {
    const organizationId = ctx.organization.id;
    await findInOrganization(ctx.em, ProjectSchema, input.projectId, organizationId, 'project');
    const [widgets, total] = await ctx.em.findAndCount(
      WidgetSchema,
      {
        organizationId,
        projectId: input.projectId,
        ...(input.type ? { type: input.type } : {}),
        ...(input.q ? { name: { $ilike: likePattern(input.q) } } : {}),
      },
      { orderBy: { createdAt: 'desc', id: 'desc' }, offset: input.offset, limit: input.limit },
    );
    const items = widgets.map((widget) => toWidgetOutput(widget, ctx.services.config.baseUrl));
    return toPage(items, total, input);
  });
