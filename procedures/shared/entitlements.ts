/**
 * What an organization's plan allows, decided in one place:
 * - a subscription that is active or trialing gives its tier, with the seats it paid for;
 * - a past_due one keeps its tier for the grace period (BILLING_GRACE_DAYS) from when it became
 *   past_due, then falls back to the free tier's limits;
 * - anything else (none, canceled, unpaid, incomplete, paused, billing not configured) is the free tier.
 * Downgrades never delete data: what exceeds a limit stays, and only new seats, projects or events
 * are refused, with PLAN_LIMIT_REACHED naming the limit, the usage and the tier.
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

/** The plan in force for a stored subscription (or none) at `now`. */
export function planFor(config: Config, subscription: Subscription | null, now: Date): EffectivePlan {
  const tiers = config.billing.tiers;
  const free = tiers.find((tier) => tier.id === 'free')!;
  const paid = subscription && tiers.find((tier) => tier.id === subscription.tier);
  const inGrace =
    subscription?.status === 'past_due' &&
    (subscription.pastDueSince === null ||
      now.getTime() < subscription.pastDueSince.getTime() + config.billing.graceDays * DAY_MS);
  const live = subscription?.status === 'active' || subscription?.status === 'trialing' || inGrace;
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
  const allowed = plan.limits[limit];
  if (usage + adding <= allowed) return;
  throw new ApiError(
    'PLAN_LIMIT_REACHED',
    `The ${plan.tier.name} plan allows ${allowed} ${LABELS[limit]}; this organization has ${usage}. Upgrade to add more.`,
    { limit: allowed, usage, tier: plan.tier.id, resource: limit },
  );
}

const LABELS: Record<LimitName, string> = {
  seats: 'seats',
  projects: 'projects',
  eventsPerMonth: 'tracked events a month',
};
