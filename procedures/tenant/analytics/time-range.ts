/** The time filters the analytics routes share: ISO 8601 bounds, checked in order, named on failure. */
import { z } from 'zod';
import { ApiError, validationMessage } from '../../../server/errors.js';

export const Instant = z.iso.datetime({
  offset: true,
  error: 'Must be an ISO 8601 timestamp with a zone (2026-12-03T10:00:00Z)',
});

/** A VALIDATION_ERROR on one query field. */
export function badQuery(field: string, error: string): ApiError {
  const errors = [{ field, error, location: 'query' as const }];
  return new ApiError('VALIDATION_ERROR', validationMessage(errors), { errors });
}

/** `from` and `to` as dates, `from` before `to`. */
export function range(from: string | undefined, to: string | undefined, defaults: { from: Date; to: Date }) {
  const start = from === undefined ? defaults.from : new Date(from);
  const end = to === undefined ? defaults.to : new Date(to);
  if (start.getTime() >= end.getTime()) throw badQuery(to === undefined ? 'from' : 'to', 'Must be after from');
  return { from: start, to: end };
}
