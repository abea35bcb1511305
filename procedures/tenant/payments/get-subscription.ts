import { z } from 'zod';
import { tenantProcedure } from '../../../server/trpc.js';
import { isoOrNull } from '../../auth/schemas.js';
import { effectivePlan } from '../../shared/entitlements.js';

const Limits = z.object({
  seats: z.number().int(),
  projects: z.number().int(),
  eventsPerMonth: z.number().int(),
});

/**
 * GET /api/user/organizations/{organizationId}/payments/subscription: the plan in force and the
 * subscription as Stripe last reported it. `tier`, `seats` and `limits` are what applies now (a
 * canceled subscription, or a past_due one after its grace period, reads as free); `status`,
 * `interval`, `currentPeriodEnd` and `cancelAtPeriodEnd` are the stored subscription's, null (false)
 * when the organization never subscribed. Answers without Stripe configured: the free tier.
 */
export const getSubscription = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/payments/subscription',
      tags: ['billing'],
      summary: 'The organization’s plan and subscription',
    },
    message: 'Subscription fetched successfully',
    scopes: ['subscription:read'],
    permission: 'organization:manage-billing',
  })
  .input(z.object({ organizationId: z.string() }))
  .output(
    z.object({
      tier: z.string(),
      tierName: z.string(),
      interval: z.enum(['month', 'year']).nullable(),
      seats: z.number().int(),
      status: z.string().nullable().describe('Stripe’s status; null when the organization never subscribed'),
      currentPeriodEnd: z.string().nullable(),
      cancelAtPeriodEnd: z.boolean(),
      limits: Limits,
      billingConfigured: z.boolean().describe('Whether checkout and the portal are available'),
    }),
  )
  .query(async ({ ctx }) => {
    const { config } = ctx.services;
    const plan = await effectivePlan(ctx.em, config, ctx.organization.id, ctx.services.now());
    const subscription = plan.subscription;
    return {
      tier: plan.tier.id,
      tierName: plan.tier.name,
      interval: subscription?.interval ?? null,
      seats: plan.limits.seats,
      status: subscription?.status ?? null,
      currentPeriodEnd: isoOrNull(subscription?.currentPeriodEnd ?? null),
      cancelAtPeriodEnd: subscription?.cancelAtPeriodEnd ?? false,
      limits: plan.limits,
      billingConfigured: config.billing.stripe !== undefined,
    };
  });
