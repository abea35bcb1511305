/**
 * A plan catalogue (BILLING_PLANS) whose free tier no suite outside tests/tenant/entitlements.test.ts
 * reaches: suites that make many members, projects or events test something else than the limits,
 * which still run on every write. A suite that wants one limit to bite gives the organization a `pro`
 * subscription with the seats it needs (with STRIPE_SECRET_KEY set, so that billing counts as configured).
 */
export const ROOMY_PLANS = JSON.stringify([
  { id: 'free', name: 'Free', maxSeats: 100_000, projects: 1_000_000, eventsPerMonth: 1e12 },
  { id: 'pro', name: 'Pro', maxSeats: 100_000, projects: 1_000_000, eventsPerMonth: 1e12 },
]);
