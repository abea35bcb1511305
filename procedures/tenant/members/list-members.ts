import { z } from 'zod';
import { PageInput, pageOf, pageOfRows, toPage } from '../../../server/pagination.js';
import { ROLES, type Role } from '../../../server/scopes.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { likePattern } from '../../shared/search.js';
import { MemberOutput } from './membership.js';

interface Row {
  id: string;
  role: Role;
  created_at: string;
  user_id: string;
  full_name: string;
  email: string;
}

/** GET /api/user/organizations/{organizationId}/members: newest first; `q` searches names and emails. */
export const listMembers = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/members',
      tags: ['members'],
      summary: 'Members of the organization',
    },
    message: 'Items fetched successfully',
    scopes: ['organizations:read'],
    permission: 'organization:read',
  })
  .input(
    PageInput.extend({ organizationId: z.string(), q: z.string().max(100).optional(), role: z.enum(ROLES).optional() }),
  )
  .output(pageOf(MemberOutput))
  .query(async ({ ctx, input }) => {
    const where = ['m.organization_id = ?'];
    const params: unknown[] = [ctx.organization.id];
    if (input.q) {
      const pattern = likePattern(input.q);
      where.push(`(u.full_name ilike ? escape '\\' or u.email ilike ? escape '\\')`);
      params.push(pattern, pattern);
    }
    if (input.role) {
      where.push('m.role = ?');
      params.push(input.role);
    }
    const from = `from members m join users u on u.id = m.user_id where ${where.join(' and ')}`;
    const { rows, total } = await pageOfRows<Row>(
      ctx.em,
      {
        columns: 'm.id, m.role, m.created_at, u.id as user_id, u.full_name, u.email',
        from,
        orderBy: 'm.created_at desc, m.id desc',
        params,
      },
      input,
    );
    const items = rows.map((r) => ({
      id: r.id,
      user: { id: r.user_id, fullName: r.full_name, email: r.email },
      role: r.role,
      joinedAt: new Date(r.created_at).toISOString(),
    }));
    return toPage(items, total, input);
  });
