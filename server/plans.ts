/**
 * The plan catalogue (configuration, validated at start like every variable):
 * - tiers `free`, `pro` and `business` by default, each with its limits: seats (members of the
 *   organization; a paid tier's limit is the seats bought, at most `maxSeats`), projects per
 *   organization, and tracked events per calendar month (UTC);
 * - a paid tier's Stripe price per interval comes from STRIPE_PRICE_<TIER>_<MONTH|YEAR>
 *   (e.g. STRIPE_PRICE_PRO_MONTH=price_…); a tier without a price for an interval cannot be bought for it;
 * - BILLING_PLANS, a JSON list of tiers, replaces the defaults as a whole; it must hold a `free` tier,
 *   which is what an organization without a live subscription gets.
 */
import { z } from 'zod';

export const INTERVALS = ['month', 'year'] as const;
export type BillingInterval = (typeof INTERVALS)[number];

export interface PlanTier {
  id: string;
  name: string;
  /** Free: the seat limit. Paid: the most seats one subscription may buy. */
  maxSeats: number;
  projects: number;
  eventsPerMonth: number;
  /** Stripe price ids by interval; empty for the free tier. */
  prices: Partial<Record<BillingInterval, string>>;
}

const DEFAULT_TIERS: PlanTier[] = [
  { id: 'free', name: 'Free', maxSeats: 3, projects: 3, eventsPerMonth: 10_000, prices: {} },
  { id: 'pro', name: 'Pro', maxSeats: 50, projects: 25, eventsPerMonth: 1_000_000, prices: {} },
  { id: 'business', name: 'Business', maxSeats: 1000, projects: 500, eventsPerMonth: 25_000_000, prices: {} },
];

const TierSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'tier ids are 1-32 characters of [a-z0-9-]'),
  name: z.string().min(1).max(64),
  maxSeats: z.number().int().min(1).max(100_000),
  projects: z.number().int().min(0).max(1_000_000),
  eventsPerMonth: z.number().int().min(0).max(1e12),
  prices: z.partialRecord(z.enum(INTERVALS), z.string().regex(/^price_\w+$/, 'must be a Stripe price id')).default({}),
});

const CatalogueSchema = z
  .array(TierSchema)
  .min(1)
  .refine((tiers) => tiers.some((tier) => tier.id === 'free'), 'must hold a tier with id "free"')
  .refine((tiers) => new Set(tiers.map((tier) => tier.id)).size === tiers.length, 'tier ids must be unique');

/** The catalogue of BILLING_PLANS (or the defaults) with the STRIPE_PRICE_* variables applied; problems are pushed. */
export function planCatalogue(env: Record<string, string | undefined>, problems: string[]): PlanTier[] {
  let tiers = DEFAULT_TIERS;
  if (env.BILLING_PLANS) {
    let json: unknown;
    try {
      json = JSON.parse(env.BILLING_PLANS);
    } catch {
      problems.push('BILLING_PLANS: must be a JSON list of tiers');
      return DEFAULT_TIERS;
    }
    const parsed = CatalogueSchema.safeParse(json);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        problems.push(`BILLING_PLANS: ${issue.path.join('.') || '(list)'}: ${issue.message}`);
      return DEFAULT_TIERS;
    }
    tiers = parsed.data;
  }
  return tiers.map((tier) => {
    const prices = { ...tier.prices };
    for (const interval of INTERVALS) {
      const variable = `STRIPE_PRICE_${tier.id.replaceAll('-', '_').toUpperCase()}_${interval.toUpperCase()}`;
      const price = env[variable]?.trim();
      if (!price) continue;
      if (tier.id === 'free') problems.push(`${variable}: the free tier has no price`);
      else if (!/^price_\w+$/.test(price)) problems.push(`${variable}: must be a Stripe price id (price_…)`);
      else prices[interval] = price;
    }
    return { ...tier, prices };
  });
}
