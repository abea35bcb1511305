import { z } from 'zod';
import { WidgetSchema } from '../../../entities/widget.js';
import { audit, findInProject } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { WidgetId } from '../../shared/widget-config.js';
import { auditContext } from '../audit-context.js';
import { ProjectId } from '../projects/project.js';

/** DELETE /api/user/organizations/{organizationId}/projects/{projectId}/widgets/{widgetId}: gone from the public route at once. */
export const deleteWidget = tenantProcedure
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/user/organizations/{organizationId}/projects/{projectId}/widgets/{widgetId}',
      tags: ['widgets'],
      summary: 'Delete a widget',
    },
    message: 'Widget deleted successfully',
    scopes: ['projects:write'],
    permission: 'organization:read',
  })
  .input(z.object({ organizationId: z.string(), projectId: ProjectId, widgetId: WidgetId }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    await ctx.em.transactional(async (em) => {
      const widget = await findInProject(
        em,
        WidgetSchema,
        input.widgetId,
        ctx.organization.id,
        input.projectId,
        'widget',
      );
      em.remove(widget);
      audit(
        em,
        auditContext(ctx),
        {
          action: 'widget.deleted',
          targetType: 'widget',
          targetId: widget.id,
          metadata: { name: widget.name, type: widget.type, projectId: widget.projectId },
        },
        now,
      );
      await em.flush();
    });
    return { id: input.widgetId };
  });
