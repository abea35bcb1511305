/**
 * Stores a batch of tracked events in one statement: the events (unnest of one array per column, no
 * entity hydration) and, for the rollups, one `hour` mark per hour the batch touches
 * (server/event-rollups.ts), committed together. The statement commits before it answers.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiError } from '../../../server/errors.js';
import { ensureEventPartitions } from '../../../server/event-partitions.js';
import { preparedRows } from '../../../server/sql.js';
import type { TrackedEvent } from './event-input.js';
import type { TrackingProject } from './publishable-key.js';

export const INSERT_EVENTS = `with stored as (
    insert into events (organization_id, project_id, name, anonymous_id, occurred_at, properties)
    select $1, $2, e.name, e.anonymous_id, e.occurred_at, e.properties
      from unnest($3::text[], $4::text[], $5::timestamptz[], $6::jsonb[]) as e(name, anonymous_id, occurred_at, properties)
    returning occurred_at
  ), marked as (
    insert into event_rollup_marks (project_id, kind, bucket)
    select distinct $2, 'hour', date_trunc('hour', occurred_at at time zone 'UTC') at time zone 'UTC' from stored
  )
  select count(*)::int as accepted from stored`;

const FOREIGN_KEY_VIOLATION = '23503';
const NO_PARTITION = '23514';

function batchValues(project: TrackingProject, events: TrackedEvent[], at: Date[]): unknown[] {
  return [
    project.organizationId,
    project.id,
    events.map((e) => e.name),
    events.map((e) => e.anonymousId),
    at.map((date) => date.toISOString()),
    events.map((e) => (e.properties === undefined ? null : JSON.stringify(e.properties))),
  ];
}

/** Stores the batch; the number stored. A missing month partition is created and the batch retried once. */
export async function storeEvents(
  em: EntityManager,
  project: TrackingProject,
  events: TrackedEvent[],
  at: Date[],
  now: Date,
): Promise<number> {
  const values = batchValues(project, events, at);
  const insert = () => preparedRows<{ accepted: number }>(em, 'track_events', INSERT_EVENTS, values);
  try {
    return (await insert())[0]!.accepted;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // The project was deleted between the lookup and the insert.
    if (code === FOREIGN_KEY_VIOLATION) {
      throw new ApiError('PROJECT_NOT_ACTIVE', 'This publishable key does not belong to an active project');
    }
    if (code !== NO_PARTITION || !String((error as Error).message).includes('no partition')) throw error;
    await ensureEventPartitions(em.fork(), now);
    return (await insert())[0]!.accepted;
  }
}
