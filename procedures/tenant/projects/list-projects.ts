import { z } from 'zod';
import type { Project } from '../../../entities/project.js';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { isoTimestamp, preparedRows } from '../../../server/sql.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { likePattern } from '../../shared/search.js';
import { PROJECT_STATUSES, ProjectOutput } from './project.js';

const SORTS = ['createdAt', '-createdAt', 'name', '-name', 'updatedAt', '-updatedAt'] as const;
const COLUMNS: Record<string, string> = { createdAt: 'p.created_at', name: 'p.name', updatedAt: 'p.updated_at' };

interface Row {
  id: string;
  name: string;
  slug: string;
  website: string | null;
  description: string | null;
  status: Project['status'];
  publishable_key: string;
  allowed_origins: string[];
  created_by_user_id: string | null;
  created_at: string;
  updated_at: string;
  creator_name: string | null;
  total: string;
}

function toOutput(r: Row): ProjectOutput {
  return {
    id: r.id,
    name: r.name,
    slug: r.slug,
    website: r.website,
    description: r.description,
    status: r.status,
    publishableKey: r.publishable_key,
    allowedOrigins: r.allowed_origins,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    createdByUser:
      r.created_by_user_id && r.creator_name !== null ? { id: r.created_by_user_id, fullName: r.creator_name } : null,
  };
}

/**
 * GET /api/user/organizations/{organizationId}/projects: newest first unless `sort` says otherwise.
 * One prepared statement per filter shape returns the page, its creators and the total together.
 */
export const listProjects = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/projects',
      tags: ['projects'],
      summary: 'List projects',
    },
    message: 'Items fetched successfully',
    scopes: ['projects:read'],
    permission: 'organization:read',
  })
  .input(
    PageInput.extend({
      organizationId: z.string(),
      q: z.string().max(100, 'Must be at most 100 characters').optional(),
      status: z.enum(PROJECT_STATUSES).optional(),
      sort: z.enum(SORTS).default('-createdAt'),
    }),
  )
  .output(pageOf(ProjectOutput))
  .query(async ({ ctx, input }) => {
    const params: unknown[] = [ctx.organization.id];
    const where = ['p.organization_id = $1'];
    if (input.status) {
      params.push(input.status);
      where.push(`p.status = $${params.length}`);
    }
    if (input.q) {
      params.push(likePattern(input.q));
      where.push(`(p.name ilike $${params.length} escape '\\' or p.slug ilike $${params.length} escape '\\')`);
    }
    const direction = input.sort.startsWith('-') ? 'desc' : 'asc';
    const column = COLUMNS[input.sort.replace(/^-/, '')]!;
    params.push(input.offset, input.limit);
    const rows = await preparedRows<Row>(
      ctx.em,
      `projects_list_${input.sort}_${input.status ? 's' : ''}${input.q ? 'q' : ''}`,
      `select p.id, p.name, p.slug, p.website, p.description, p.status, p.publishable_key, p.allowed_origins, p.created_by_user_id,
              ${isoTimestamp('p.created_at')} as created_at, ${isoTimestamp('p.updated_at')} as updated_at,
              u.full_name as creator_name, count(*) over () as total
         from projects p left join users u on u.id = p.created_by_user_id
        where ${where.join(' and ')}
        order by ${column} ${direction}, p.id ${direction}
        offset $${params.length - 1} limit $${params.length}`,
      params,
    );
    // Past the last page there is no row to carry the total: count separately, only then.
    const total = rows[0]
      ? Number(rows[0].total)
      : Number(
          (
            await preparedRows<{ total: string }>(
              ctx.em,
              `projects_count_${input.status ? 's' : ''}${input.q ? 'q' : ''}`,
              `select count(*) as total from projects p where ${where.join(' and ')}`,
              params.slice(0, -2),
            )
          )[0]?.total ?? 0,
        );
    const items = rows.map(toOutput);
    return toPage(items, total, input);
  });
