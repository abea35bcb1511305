import { z } from 'zod';
import type { FormField } from '../../../entities/form.js';
import { ProjectSchema } from '../../../entities/project.js';
import { PageInput, pageOf, pageOfRows, toPage } from '../../../server/pagination.js';
import { findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { likePattern } from '../../shared/search.js';
import { ProjectId } from '../projects/project.js';
import { FormOutput, formOutput } from './form.js';

interface Row {
  id: string;
  project_id: string;
  name: string;
  published: boolean;
  fields: FormField[];
  honeypot_field: string;
  created_at: Date | string;
  updated_at: Date | string;
}

/** GET /api/user/organizations/{organizationId}/projects/{projectId}/forms: newest first; `q` searches names. */
export const listForms = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/projects/{projectId}/forms',
      tags: ['forms'],
      summary: 'List the public forms of a project',
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
      published: z.enum(['true', 'false']).optional(),
    }),
  )
  .output(pageOf(FormOutput))
  .query(async ({ ctx, input }) => {
    const project = await findInOrganization(ctx.em, ProjectSchema, input.projectId, ctx.organization.id, 'project');
    const where = ['f.organization_id = ?', 'f.project_id = ?'];
    const params: unknown[] = [project.organizationId, project.id];
    if (input.published) {
      where.push('f.published = ?');
      params.push(input.published === 'true');
    }
    if (input.q) {
      where.push(`f.name ilike ? escape '\\'`);
      params.push(likePattern(input.q));
    }
    const { rows, total } = await pageOfRows<Row>(
      ctx.em,
      {
        columns: 'f.id, f.project_id, f.name, f.published, f.fields, f.honeypot_field, f.created_at, f.updated_at',
        from: `from forms f where ${where.join(' and ')}`,
        orderBy: 'f.created_at desc, f.id desc',
        params,
      },
      input,
    );
    const items = rows.map((row) =>
      formOutput(
        {
          id: row.id,
          projectId: row.project_id,
          name: row.name,
          published: row.published,
          fields: row.fields,
          honeypotField: row.honeypot_field,
          createdAt: row.created_at,
          updatedAt: row.updated_at,
        },
        ctx.services.config.baseUrl,
      ),
    );
    return toPage(items, total, input);
  });
