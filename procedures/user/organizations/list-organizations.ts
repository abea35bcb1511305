import { z } from 'zod';
import { PageInput, pageOf, pageOfRows, toPage } from '../../../server/pagination.js';
import { ROLES, type Role } from '../../../server/scopes.js';
import { userProcedure } from '../../../server/trpc.js';
import { IsoDate } from '../../auth/schemas.js';
import { likePattern } from '../../shared/search.js';

const MyOrganization = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  role: z.enum(ROLES),
  joinedAt: IsoDate,
  createdAt: IsoDate,
});

interface Row {
  id: string;
  name: string;
  slug: string;
  role: Role;
  joined_at: string;
  created_at: string;
}

/**
 * GET /api/user/organizations: the organizations I belong to, with my role, newest membership first;
 * for a key pinned to one organization, only that one.
 */
export const listOrganizations = userProcedure
  .meta({
    openapi: { method: 'GET', path: '/user/organizations', tags: ['organizations'], summary: 'My organizations' },
    message: 'Items fetched successfully',
    scopes: ['organizations:read'],
  })
  .input(PageInput.extend({ q: z.string().max(100).optional() }))
  .output(pageOf(MyOrganization))
  .query(async ({ ctx, input }) => {
    const where = ['m.user_id = ?'];
    const params: unknown[] = [ctx.principal.userId];
    if (ctx.principal.organizationId) {
      where.push('m.organization_id = ?');
      params.push(ctx.principal.organizationId);
    }
    if (input.q) {
      const pattern = likePattern(input.q);
      where.push(`(o.name ilike ? escape '\\' or o.slug ilike ? escape '\\')`);
      params.push(pattern, pattern);
    }
    const from = `from members m join organizations o on o.id = m.organization_id where ${where.join(' and ')}`;
    const { rows, total } = await pageOfRows<Row>(
      ctx.em,
      {
        columns: 'o.id, o.name, o.slug, m.role, m.created_at as joined_at, o.created_at',
        from,
        orderBy: 'm.created_at desc, o.id desc',
        params,
      },
      input,
    );
    const items = rows.map((r) => ({
      id: r.id,
      name: r.name,
      slug: r.slug,
      role: r.role,
      joinedAt: new Date(r.joined_at).toISOString(),
      createdAt: new Date(r.created_at).toISOString(),
    }));
    return toPage(items, total, input);
  });
