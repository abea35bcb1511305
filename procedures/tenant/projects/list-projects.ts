import { z } from 'zod';
import { ProjectSchema, type Project } from '../../../entities/project.js';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { likePattern } from '../../shared/search.js';
import { loadCreators, PROJECT_STATUSES, ProjectOutput, toProjectOutput } from './project.js';

const SORTS = ['createdAt', '-createdAt', 'name', '-name', 'updatedAt', '-updatedAt'] as const;

/** GET /api/user/organizations/{organizationId}/projects: newest first unless `sort` says otherwise. */
export const listProjects = tenantProcedure
  .meta({
    openapi: { method: 'GET', path: '/user/organizations/{organizationId}/projects', tags: ['projects'], summary: 'List projects' },
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
    const pattern = input.q ? likePattern(input.q) : undefined;
    const where = {
      organizationId: ctx.organization.id,
      ...(input.status ? { status: input.status } : {}),
      ...(pattern ? { $or: [{ name: { $ilike: pattern } }, { slug: { $ilike: pattern } }] } : {}),
    };
    const direction = input.sort.startsWith('-') ? 'desc' : 'asc';
    const field = input.sort.replace(/^-/, '') as keyof Project;
    const [projects, total] = await ctx.em.findAndCount(ProjectSchema, where, {
      orderBy: { [field]: direction, id: direction },
      offset: input.offset,
      limit: input.limit,
    });
    const creators = await loadCreators(ctx.em, projects);
    return toPage(projects.map((p) => toProjectOutput(p, creators)), total, input);
  });
