import { z } from 'zod';
import { ApiError } from '../../server/errors.js';
import { publicProcedure } from '../../server/trpc.js';
import { VERSION } from '../../server/version.js';

const CheckState = z.enum(['ok', 'down', 'disabled']);

export const HealthOutput = z.object({
  status: z.enum(['ok', 'degraded']),
  checks: z.object({ database: CheckState, redis: CheckState }),
  version: z.string(),
});

/** GET /api/public/health: 200 ok or degraded (Redis down, limits in memory); 503 when the database is down. */
export const health = publicProcedure
  .meta({
    openapi: { method: 'GET', path: '/public/health', tags: ['public'], summary: 'Service health' },
    message: 'Service is healthy',
  })
  .input(z.void())
  .output(HealthOutput)
  .query(async ({ ctx }) => {
    const report = await ctx.services.health.check();
    if (report.status === 'down') {
      throw new ApiError('SERVICE_UNAVAILABLE', 'The database is unreachable', {
        status: 'down',
        checks: report.checks,
        version: VERSION,
        retryAfter: 5,
      });
    }
    return { status: report.status, checks: report.checks, version: VERSION };
  });
