import { z } from 'zod';
import { publicProcedure } from '../../../server/trpc.js';
import { occurrences, TrackInput } from './event-input.js';
import { publishableKey } from './publishable-key.js';
import { storeEvents } from './store-events.js';

/** POST /api/public/track: a batch of anonymous events for the project of X-Publishable-Key; 202 once stored. */
export const track = publicProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/public/track',
      tags: ['public'],
      summary: 'Track events',
      description:
        "Send `X-Publishable-Key: pk_…`. 1 to 500 events; one invalid event refuses the batch and nothing is stored, and so does a batch that would pass the organization's monthly event allowance (PLAN_LIMIT_REACHED).",
    },
    message: 'Events accepted',
    status: 202,
    errors: ['INVALID_API_KEY', 'PROJECT_NOT_ACTIVE', 'FORBIDDEN', 'RATE_LIMIT_ERROR', 'PLAN_LIMIT_REACHED'],
  })
  .use(async ({ ctx, next }) => next({ ctx: { key: await publishableKey(ctx) } }))
  .input(TrackInput)
  .output(z.object({ accepted: z.number().int() }))
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const at = occurrences(input.events, now);
    const request = { key: ctx.key, origin: ctx.origin, now };
    return { accepted: await storeEvents(ctx.em, ctx.services.config, request, input.events, at) };
  });
