import { z } from 'zod';
import { ProjectSchema } from '../../../entities/project.js';
import { bucketOf, bucketStats } from '../../../server/event-rollups.js';
import { findInOrganization } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { IsoDate } from '../../auth/schemas.js';
import { badQuery, Instant, range } from '../analytics/time-range.js';
import { ProjectId } from '../projects/project.js';

const SIZE_MS = { hour: 3_600_000, day: 86_400_000 } as const;
/** The most buckets a range may span, and the default span: 400 days, or 31 days of hours. */
const MAX_BUCKETS = { hour: 31 * 24, day: 400 } as const;
const DEFAULT_BUCKETS = { hour: 24, day: 30 } as const;
const TOP_EVENTS = 10;

const Count = z.number().int();

/**
 * GET /api/user/organizations/{organizationId}/projects/{projectId}/stats: per UTC hour or day, the
 * events and the exact unique visitors (distinct anonymous ids) of each bucket, zero-filled, with the
 * period's total events and its top event names. `from` is rounded down and `to` up to whole buckets,
 * and the answer says the range it covers. Visitors are not summed over buckets: one visitor seen
 * on two days is one visitor each day, but not two over the period.
 */
export const getStats = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/projects/{projectId}/stats',
      tags: ['analytics'],
      summary: 'Event counts per hour or day',
    },
    message: 'Stats fetched successfully',
    scopes: ['analytics:read'],
    permission: 'organization:read',
  })
  .input(
    z.object({
      organizationId: z.string(),
      projectId: ProjectId,
      interval: z.enum(['hour', 'day']).default('day'),
      from: Instant.optional(),
      to: Instant.optional(),
    }),
  )
  .output(
    z.object({
      interval: z.enum(['hour', 'day']),
      from: IsoDate,
      to: IsoDate,
      buckets: z.array(z.object({ start: IsoDate, events: Count, uniqueVisitors: Count })),
      totals: z.object({ events: Count, eventNames: Count }),
      topEvents: z.array(z.object({ name: z.string(), events: Count })),
    }),
  )
  .query(async ({ ctx, input }) => {
    const { interval } = input;
    const size = SIZE_MS[interval];
    const end = new Date(bucketOf(interval, ctx.services.now()).getTime() + size);
    const asked = range(input.from, input.to, {
      from: new Date((input.to ? new Date(input.to).getTime() : end.getTime()) - DEFAULT_BUCKETS[interval] * size),
      to: end,
    });
    const from = bucketOf(interval, asked.from);
    const to = new Date(Math.ceil(asked.to.getTime() / size) * size);
    if ((to.getTime() - from.getTime()) / size > MAX_BUCKETS[interval]) {
      throw badQuery(
        'to',
        interval === 'day'
          ? 'With interval day, the range spans at most 400 days'
          : 'With interval hour, the range spans at most 31 days',
      );
    }
    await findInOrganization(ctx.em, ProjectSchema, input.projectId, ctx.organization.id, 'project');
    const stats = await bucketStats(ctx.em, input.projectId, interval, from, to, TOP_EVENTS);
    return {
      interval,
      from: from.toISOString(),
      to: to.toISOString(),
      buckets: stats.buckets,
      totals: { events: stats.totalEvents, eventNames: stats.distinctNames },
      topEvents: stats.names,
    };
  });
