/**
 * What POST /public/track accepts: 1..500 events, each
 * - `name`: 1..100 characters; `anonymousId`: 1..128 characters;
 * - `properties`: a flat JSON object (values string, number, boolean or null; no nesting) whose
 *   JSON is at most 8 KB;
 * - `timestamp`: ISO 8601 with a zone, at most 24 h after and 90 days before the service's clock
 *   (that window is checked by `outOfWindow`, which needs the clock); default: now.
 * A bad field is named by its index (`events.3.timestamp`); one bad event refuses the whole batch.
 */
import { z } from 'zod';
import { ApiError, validationMessage, type FieldError } from '../../../server/errors.js';

export const MAX_EVENTS = 500;
export const MAX_PROPERTIES_BYTES = 8192;
const FUTURE_MS = 24 * 3_600_000;
const PAST_MS = 90 * 86_400_000;

const FLAT = 'Must be a string, number, boolean or null (properties are flat)';

/**
 * Checked by hand rather than as a zod record of a union (a quarter of the CPU of a 500-event batch),
 * and turned into its JSON, which is measured here and stored as is. The OpenAPI document shows the shape.
 */
export const EventProperties = z
  .unknown()
  .transform((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'Must be a flat JSON object' });
      return z.NEVER;
    }
    let flat = true;
    for (const [key, item] of Object.entries(value)) {
      if (item !== null && typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        ctx.addIssue({ code: 'custom', message: FLAT, path: [key] });
        flat = false;
      }
    }
    if (!flat) return z.NEVER;
    const json = JSON.stringify(value);
    if (Buffer.byteLength(json) > MAX_PROPERTIES_BYTES) {
      ctx.addIssue({ code: 'custom', message: `Must be at most ${MAX_PROPERTIES_BYTES} bytes as JSON` });
      return z.NEVER;
    }
    return json;
  })
  .meta({
    override: {
      type: 'object',
      additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
      description: `A flat JSON object of at most ${MAX_PROPERTIES_BYTES} bytes`,
    },
  });

export const TrackedEvent = z.strictObject({
  name: z.string().min(1, 'Required').max(100, 'Must be at most 100 characters'),
  anonymousId: z.string().min(1, 'Required').max(128, 'Must be at most 128 characters'),
  timestamp: z.iso
    .datetime({ offset: true, error: 'Must be an ISO 8601 timestamp with a zone (2026-12-03T10:00:00Z)' })
    .optional(),
  properties: EventProperties.optional(),
});
export type TrackedEvent = z.output<typeof TrackedEvent>;

export const TrackInput = z.strictObject({
  events: z
    .array(TrackedEvent)
    .min(1, `Send 1 to ${MAX_EVENTS} events`)
    .max(MAX_EVENTS, `Send 1 to ${MAX_EVENTS} events`),
});

/** When each event occurred (its timestamp, else `now`); a VALIDATION_ERROR naming each one outside the window. */
export function occurrences(events: TrackedEvent[], now: Date): Date[] {
  const errors: FieldError[] = [];
  const latest = now.getTime() + FUTURE_MS;
  const earliest = now.getTime() - PAST_MS;
  const dates = events.map((event, index) => {
    if (event.timestamp === undefined) return now;
    const date = new Date(event.timestamp);
    const at = date.getTime();
    if (Number.isNaN(at) || at > latest || at < earliest) {
      errors.push({
        field: `events.${index}.timestamp`,
        error: 'Must be at most 24 hours ahead of and 90 days before the current time',
        location: 'body',
      });
    }
    return date;
  });
  if (errors.length > 0) throw new ApiError('VALIDATION_ERROR', validationMessage(errors), { errors });
  return dates;
}
