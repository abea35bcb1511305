/**
 * Stores a batch of tracked events in one statement, which also finds the key's project: the events
 * (unnest of one array per column, no entity hydration) and, for the rollups, one `hour` mark per hour
 * the batch touches (server/event-rollups.ts), committed together before it answers.
 *
 * - Only an active project's key stores anything, and only from an origin it allows (none listed,
 *   or no Origin: any). When nothing was stored, `explainRefusal` looks the key up to say why; the
 *   accepted path costs one round trip, the same as a bare INSERT.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiError } from '../../../server/errors.js';
import { ensureEventPartitions } from '../../../server/event-partitions.js';
import { preparedRows } from '../../../server/sql.js';
import type { TrackedEvent } from './event-input.js';

export const INSERT_EVENTS = `with project as (
    select id, organization_id from projects
     where publishable_key = $1 and status = 'active'
       and ($2::text is null or cardinality(allowed_origins) = 0 or $2::text = any(allowed_origins))
  ), stored as (
    insert into events (organization_id, project_id, name, anonymous_id, occurred_at, properties)
    select p.organization_id, p.id, e.name, e.anonymous_id, e.occurred_at, e.properties
      from project p,
           unnest($3::text[], $4::text[], $5::timestamptz[], $6::jsonb[]) as e(name, anonymous_id, occurred_at, properties)
    returning project_id, occurred_at
  ), marked as (
    insert into event_rollup_marks (project_id, kind, bucket)
    select distinct project_id, 'hour', date_trunc('hour', occurred_at at time zone 'UTC') at time zone 'UTC' from stored
  )
  select count(*)::int as accepted from stored`;

const FOREIGN_KEY_VIOLATION = '23503';
const NO_PARTITION = '23514';

const notActive = () => new ApiError('PROJECT_NOT_ACTIVE', 'This publishable key does not belong to an active project');

/** The statement's parameters for a batch. */
export function batchValues(key: string, origin: string | undefined, events: TrackedEvent[], at: Date[]): unknown[] {
  return [
    key,
    origin ?? null,
    events.map((e) => e.name),
    events.map((e) => e.anonymousId),
    at.map((date) => date.toISOString()),
    events.map((e) => e.properties ?? null),
  ];
}

/** Why a key stored nothing: PROJECT_NOT_ACTIVE (no such project, or not active), or FORBIDDEN for the origin. */
async function explainRefusal(em: EntityManager, key: string, origin: string | undefined): Promise<ApiError> {
  const [project] = await preparedRows<{ status: string; allowed_origins: string[] }>(
    em,
    'tracking_project',
    'select status, allowed_origins from projects where publishable_key = $1',
    [key],
  );
  if (project?.status !== 'active') return notActive();
  return new ApiError('FORBIDDEN', `This project does not accept events from ${origin}`, {
    reason: 'origin-not-allowed',
  });
}

/**
 * Stores the batch for the project of `key`; the number stored, or the refusal. A missing month
 * partition is created and the batch retried once.
 */
export async function storeEvents(
  em: EntityManager,
  request: { key: string; origin: string | undefined; now: Date },
  events: TrackedEvent[],
  at: Date[],
): Promise<number> {
  const values = batchValues(request.key, request.origin, events, at);
  const insert = async () => (await preparedRows<{ accepted: number }>(em, 'track_events', INSERT_EVENTS, values))[0]!;
  let accepted: number;
  try {
    accepted = (await insert()).accepted;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // The project was deleted between the statement's read of it and its insert.
    if (code === FOREIGN_KEY_VIOLATION) throw notActive();
    if (code !== NO_PARTITION || !String((error as Error).message).includes('no partition')) throw error;
    await ensureEventPartitions(em.fork(), request.now);
    accepted = (await insert()).accepted;
  }
  if (accepted === 0) throw await explainRefusal(em, request.key, request.origin);
  return accepted;
}
