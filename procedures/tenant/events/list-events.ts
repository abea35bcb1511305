import { z } from 'zod';
import { ProjectSchema } from '../../../entities/project.js';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { isoTimestamp, preparedRows } from '../../../server/sql.js';
import { findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { IsoDate } from '../../auth/schemas.js';
import { badQuery, Instant, range } from '../analytics/time-range.js';
import { ProjectId } from '../projects/project.js';

const DAY_MS = 86_400_000;
/** Counting stops here and offsets may not pass it: a page stays one bounded index scan on any volume. */
export const MAX_COUNTED = 10_000;

const EventOutput = z.object({
  id: z.string(),
  name: z.string(),
  anonymousId: z.string(),
  timestamp: IsoDate,
  receivedAt: IsoDate,
  properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable(),
});

interface Row {
  id: string;
  name: string;
  anonymous_id: string;
  occurred_at: string;
  received_at: string;
  properties: Record<string, string | number | boolean | null> | null;
}

/**
 * GET /api/user/organizations/{organizationId}/projects/{projectId}/events: newest first, within
 * [from, to) (default `to`: 24 h ahead, the furthest a timestamp may reach; default `from`: 30 days
 * before `to`). Pages walk the primary key (project, occurred_at, id) backwards; `total` counts at
 * most 10,000 events.
 */
export const listEvents = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/projects/{projectId}/events',
      tags: ['analytics'],
      summary: 'List tracked events',
    },
    message: 'Items fetched successfully',
    scopes: ['analytics:read'],
    permission: 'organization:read',
  })
  .input(
    PageInput.extend({
      organizationId: z.string(),
      projectId: ProjectId,
      name: z.string().max(100, 'Must be at most 100 characters').optional(),
      anonymousId: z.string().max(128, 'Must be at most 128 characters').optional(),
      from: Instant.optional(),
      to: Instant.optional(),
    }),
  )
  .output(pageOf(EventOutput))
  .query(async ({ ctx, input }) => {
    if (input.offset >= MAX_COUNTED) {
      throw badQuery('offset', `Must be below ${MAX_COUNTED}; narrow the range with from and to instead`);
    }
    const now = ctx.services.now().getTime();
    const end = input.to ? Date.parse(input.to) : now + DAY_MS;
    const window = range(input.from, input.to, { from: new Date(end - 30 * DAY_MS), to: new Date(end) });
    await findInOrganization(ctx.em, ProjectSchema, input.projectId, ctx.organization.id, 'project');
    const params: unknown[] = [input.projectId, window.from.toISOString(), window.to.toISOString()];
    const where = ['project_id = $1', 'occurred_at >= $2', 'occurred_at < $3'];
    if (input.name !== undefined) where.push(`name = $${params.push(input.name)}`);
    if (input.anonymousId !== undefined) where.push(`anonymous_id = $${params.push(input.anonymousId)}`);
    const shape = `${input.name !== undefined ? 'n' : ''}${input.anonymousId !== undefined ? 'a' : ''}`;
    const filter = where.join(' and ');
    const [rows, counted] = await Promise.all([
      preparedRows<Row>(
        ctx.em,
        `events_page_${shape}`,
        `select id::text, name, anonymous_id, ${isoTimestamp('occurred_at')} as occurred_at,
                ${isoTimestamp('received_at')} as received_at, properties
           from events where ${filter}
          order by occurred_at desc, id desc offset $${params.length + 1} limit $${params.length + 2}`,
        [...params, input.offset, input.limit],
      ),
      preparedRows<{ total: number }>(
        ctx.em,
        `events_count_${shape}`,
        `select count(*)::int as total from (select 1 from events where ${filter} limit ${MAX_COUNTED}) c`,
        params,
      ),
    ]);
    const items = rows.map((r) => ({
      id: r.id,
      name: r.name,
      anonymousId: r.anonymous_id,
      timestamp: r.occurred_at,
      receivedAt: r.received_at,
      properties: r.properties,
    }));
    return toPage(items, counted[0]?.total ?? 0, input);
  });
