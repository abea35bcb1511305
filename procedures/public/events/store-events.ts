/**
 * Stores a batch of tracked events in one statement, which also finds the key's project: the events
 * (unnest of one array per column, no entity hydration) and, for the rollups, one `hour` mark per hour
 * the batch touches (server/event-rollups.ts), committed together before it answers.
 *
 * - Only an active project's key stores anything, and only from an origin it allows (none listed,
 *   or no Origin: any). When nothing was stored, `explainRefusal` looks the key up to say why; the
 *   accepted path costs one round trip, the same as a bare INSERT.
 * - Only a batch within the organization's monthly event allowance: the same statement reads the
 *   month's count and the plan's allowance, and adds the batch to the count when it stores it
 *   (procedures/shared/entitlements.ts); a batch that would pass it stores nothing and is
 *   PLAN_LIMIT_REACHED, from what the statement read.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../../server/config.js';
import { ApiError } from '../../../server/errors.js';
import { ensureEventPartitions } from '../../../server/event-partitions.js';
import { preparedRows } from '../../../server/sql.js';
import { eventAllowanceSql, eventAllowanceValues, eventsLimitReached } from '../../shared/entitlements.js';
import type { TrackedEvent } from './event-input.js';

export const INSERT_EVENTS = `with project as (
    select id, organization_id from projects
     where publishable_key = $1 and status = 'active'
       and ($2::text is null or cardinality(allowed_origins) = 0 or $2::text = any(allowed_origins))
  ), ${eventAllowanceSql('project', 'cardinality($3::text[])', 7)}, stored as (
    insert into events (organization_id, project_id, name, anonymous_id, occurred_at, properties)
    select p.organization_id, p.id, e.name, e.anonymous_id, e.occurred_at, e.properties
      from admitted p,
           unnest($3::text[], $4::text[], $5::timestamptz[], $6::jsonb[]) as e(name, anonymous_id, occurred_at, properties)
    returning project_id, occurred_at
  ), marked as (
    insert into event_rollup_marks (project_id, kind, bucket)
    select distinct project_id, 'hour', date_trunc('hour', occurred_at at time zone 'UTC') at time zone 'UTC' from stored
  )
  select (select count(*)::int from stored) as accepted, a.tier, a.allowed, a.used
    from (select 1) one left join allowance a on true`;

const FOREIGN_KEY_VIOLATION = '23503';
const NO_PARTITION = '23514';

const notActive = () => new ApiError('PROJECT_NOT_ACTIVE', 'This publishable key does not belong to an active project');

/** The statement's parameters for a batch received at `now`. */
export function batchValues(
  config: Config,
  request: { key: string; origin: string | undefined; now: Date },
  events: TrackedEvent[],
  at: Date[],
): unknown[] {
  return [
    request.key,
    request.origin ?? null,
    events.map((e) => e.name),
    events.map((e) => e.anonymousId),
    at.map((date) => date.toISOString()),
    events.map((e) => e.properties ?? null),
    ...eventAllowanceValues(config, request.now),
  ];
}

interface Stored {
  accepted: number;
  /** Null when no active project of the key allows the request's origin. */
  tier: string | null;
  allowed: number | null;
  used: number | null;
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
  config: Config,
  request: { key: string; origin: string | undefined; now: Date },
  events: TrackedEvent[],
  at: Date[],
): Promise<number> {
  const values = batchValues(config, request, events, at);
  const insert = async () => (await preparedRows<Stored>(em, 'track_events', INSERT_EVENTS, values))[0]!;
  let stored: Stored;
  try {
    stored = await insert();
  } catch (error) {
    const code = (error as { code?: string }).code;
    // The project was deleted between the statement's read of it and its insert.
    if (code === FOREIGN_KEY_VIOLATION) throw notActive();
    if (code !== NO_PARTITION || !String((error as Error).message).includes('no partition')) throw error;
    await ensureEventPartitions(em.fork(), request.now);
    stored = await insert();
  }
  if (stored.accepted > 0) return stored.accepted;
  if (stored.tier === null) throw await explainRefusal(em, request.key, request.origin);
  throw eventsLimitReached(config, { tier: stored.tier, allowed: stored.allowed!, used: stored.used! });
}
