/**
 * What an organization's plan allows, decided in one place:
 * - a subscription that is active or trialing gives its tier, with the seats it paid for;
 * - a past_due one keeps its tier for the grace period (BILLING_GRACE_DAYS) from when it became
 *   past_due, then falls back to the free tier's limits;
 * - anything else (none, canceled, unpaid, incomplete, paused, billing not configured) is the free tier.
 * Downgrades never delete data: what exceeds a limit stays, and only new seats, projects or events
 * are refused, with PLAN_LIMIT_REACHED naming the limit, the usage and the tier.
 *
 * Where the limits bite:
 * - Seats are members plus pending (unexpired) invitations: an invitation reserves its seat. Sending
 *   one, or a just-in-time SSO join, needs a free seat beyond both; accepting an invitation needs only
 *   that the members stay within the seats, so that after a downgrade no one joins beyond the limit
 *   while those already in stay.
 * - Projects per organization: creating one beyond the limit is refused.
 * - Seat and project checks run inside the write's transaction, after `lockOrganization` (FOR NO KEY
 *   UPDATE on the organization's row, which inserts referencing the organization do not wait on), so
 *   two concurrent writes cannot both take the last seat or project.
 * - Tracked events per calendar month (UTC, by the time the service received them) per organization:
 *   counted in `event_usage`, checked and incremented by the very statement that stores a batch
 *   (`eventAllowanceSql`), so tracking stays one round trip; a batch that would pass the allowance is
 *   refused whole. Approximate under concurrency, by design: batches in flight at the same moment do
 *   not see each other's counts, so the allowance can be passed by at most those batches (500 events
 *   each); exact enforcement would serialize every organization's ingestion on one row.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { SubscriptionSchema, type Subscription } from '../../entities/billing.js';
import type { Config } from '../../server/config.js';
import { ApiError } from '../../server/errors.js';
import type { PlanTier } from '../../server/plans.js';

export type LimitName = 'seats' | 'projects' | 'eventsPerMonth';

export interface EffectivePlan {
  tier: PlanTier;
  limits: Record<LimitName, number>;
  /** The stored subscription, if any, whatever its status. */
  subscription: Subscription | null;
}

const DAY_MS = 86_400_000;
/** Statuses that give the subscription's tier outright; past_due gives it within the grace period. */
const LIVE_STATUSES = ['active', 'trialing'];

/** Before this, a past_due subscription's grace has run out. */
const graceStart = (config: Pick<Config, 'billing'>, now: Date) =>
  new Date(now.getTime() - config.billing.graceDays * DAY_MS);

/** The plan in force for a stored subscription (or none) at `now`. */
export function planFor(config: Config, subscription: Subscription | null, now: Date): EffectivePlan {
  const tiers = config.billing.tiers;
  const free = tiers.find((tier) => tier.id === 'free')!;
  const paid = subscription && tiers.find((tier) => tier.id === subscription.tier);
  const inGrace =
    subscription?.status === 'past_due' &&
    (subscription.pastDueSince === null || subscription.pastDueSince > graceStart(config, now));
  const live = (subscription && LIVE_STATUSES.includes(subscription.status)) || inGrace;
  if (!config.billing.stripe || !paid || !live) {
    return { tier: free, limits: limitsOf(free, free.maxSeats), subscription };
  }
  return { tier: paid, limits: limitsOf(paid, Math.min(subscription.seats, paid.maxSeats)), subscription };
}

function limitsOf(tier: PlanTier, seats: number): Record<LimitName, number> {
  return { seats, projects: tier.projects, eventsPerMonth: tier.eventsPerMonth };
}

/** The organization's plan now, from its stored subscription. */
export async function effectivePlan(
  em: EntityManager,
  config: Config,
  organizationId: string,
  now: Date,
): Promise<EffectivePlan> {
  const subscription = await em.findOne(SubscriptionSchema, { organizationId });
  return planFor(config, subscription, now);
}

/** Refuses `adding` more of `limit` when `usage` plus it would pass the plan's limit. */
export function assertWithinLimit(plan: EffectivePlan, limit: LimitName, usage: number, adding = 1): void {
  if (usage + adding > plan.limits[limit]) throw limitReached(plan.tier, limit, plan.limits[limit], usage);
}

function limitReached(tier: PlanTier, limit: LimitName, allowed: number, usage: number): ApiError {
  return new ApiError(
    'PLAN_LIMIT_REACHED',
    `The ${tier.name} plan allows ${allowed} ${LABELS[limit]}; this organization ${USAGE[limit]} ${usage}. Upgrade to add more.`,
    { limit: allowed, usage, tier: tier.id, resource: limit },
  );
}

const LABELS: Record<LimitName, string> = {
  seats: 'seats (members and pending invitations)',
  projects: 'projects',
  eventsPerMonth: 'tracked events a month',
};
const USAGE: Record<LimitName, string> = {
  seats: 'has',
  projects: 'has',
  eventsPerMonth: 'has tracked this month',
};

async function rows<T>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  return em.getConnection().execute<T[]>(sql, params, 'all', em.getTransactionContext());
}

/**
 * Inside the transaction of a write that takes a seat or a project: locks the organization's row
 * until it commits, so that the count the check reads cannot change under it.
 */
async function lockOrganization(em: EntityManager, organizationId: string): Promise<void> {
  if (!em.getTransactionContext()) throw new Error('lockOrganization needs a transaction');
  await rows(em, 'select 1 from organizations where id = ? for no key update', [organizationId]);
}

export type SeatClaim =
  /** A seat nobody reserved (an invitation being sent, a just-in-time join): members + pending invitations. */
  | 'new'
  /** The seat an invitation reserved, taken as it is accepted: members alone. */
  | 'reserved';

/** Inside the write's transaction: refuses a seat beyond the plan's, and holds the organization until commit. */
export async function assertSeatAvailable(
  em: EntityManager,
  config: Config,
  organizationId: string,
  claim: SeatClaim,
  now: Date,
): Promise<void> {
  await lockOrganization(em, organizationId);
  const pending =
    claim === 'new'
      ? `+ (select count(*) from invites where organization_id = ? and status = 'pending' and expires_at > ?)`
      : '';
  const [usage] = await rows<{ seats: number }>(
    em,
    `select ((select count(*) from members where organization_id = ?) ${pending})::int as seats`,
    claim === 'new' ? [organizationId, organizationId, now] : [organizationId],
  );
  assertWithinLimit(await effectivePlan(em, config, organizationId, now), 'seats', usage!.seats);
}

/** Inside the write's transaction: refuses a project beyond the plan's, and holds the organization until commit. */
export async function assertProjectAvailable(
  em: EntityManager,
  config: Config,
  organizationId: string,
  now: Date,
): Promise<void> {
  await lockOrganization(em, organizationId);
  const [usage] = await rows<{ projects: number }>(
    em,
    'select count(*)::int as projects from projects where organization_id = ?',
    [organizationId],
  );
  assertWithinLimit(await effectivePlan(em, config, organizationId, now), 'projects', usage!.projects);
}

/** Counter rows per organization and month; a batch adds to one at random, so concurrent batches rarely wait on each other. */
const USAGE_SHARDS = 16;

/**
 * SQL, as CTEs to splice into the statement that stores a batch: `allowance` (tier, allowed, used:
 * one row per row of `source`, a CTE with `organization_id`), `admitted` (those rows of `source` whose
 * batch of `batchSize` events fits the month's allowance) and `counted` (adds the batch to the month's
 * count of each admitted organization). Placeholders from `$first` take `eventAllowanceValues`, in order.
 */
export function eventAllowanceSql(source: string, batchSize: string, first: number): string {
  const [month, tiers, allowances, free, grace, live] = [0, 1, 2, 3, 4, 5].map((i) => `$${first + i}`);
  return `allowance as (
    select src.*, coalesce(t.tier, 'free') as tier, coalesce(t.events, ${free}::float8) as allowed,
           coalesce((select sum(u.events) from event_usage u
                      where u.organization_id = src.organization_id and u.month = ${month}::date), 0)::float8 as used
      from ${source} src
      left join subscriptions s on s.organization_id = src.organization_id
            and (s.status = any(${live}::text[])
                 or (s.status = 'past_due' and (s.past_due_since is null or s.past_due_since > ${grace}::timestamptz)))
      left join unnest(${tiers}::text[], ${allowances}::float8[]) as t(tier, events) on t.tier = s.tier
  ), admitted as (
    select * from allowance where used + ${batchSize} <= allowed
  ), counted as (
    insert into event_usage as u (organization_id, month, shard, events)
    select organization_id, ${month}::date, floor(random() * ${USAGE_SHARDS})::int, ${batchSize} from admitted
    on conflict (organization_id, month, shard) do update set events = u.events + excluded.events
  )`;
}

/** The values of `eventAllowanceSql`'s placeholders at `now`: the month, the paid tiers' allowances, the free one. */
export function eventAllowanceValues(config: Pick<Config, 'billing'>, now: Date): unknown[] {
  const paid = config.billing.stripe ? config.billing.tiers.filter((tier) => tier.id !== 'free') : [];
  const free = config.billing.tiers.find((tier) => tier.id === 'free')!;
  const month = `${now.toISOString().slice(0, 7)}-01`;
  return [
    month,
    paid.map((tier) => tier.id),
    paid.map((tier) => tier.eventsPerMonth),
    free.eventsPerMonth,
    graceStart(config, now).toISOString(),
    LIVE_STATUSES,
  ];
}

/** PLAN_LIMIT_REACHED for a batch `eventAllowanceSql` refused, from what the statement read. */
export function eventsLimitReached(config: Config, refused: { tier: string; allowed: number; used: number }): ApiError {
  const tier = config.billing.tiers.find((t) => t.id === refused.tier)!;
  return limitReached(tier, 'eventsPerMonth', refused.allowed, refused.used);
}
