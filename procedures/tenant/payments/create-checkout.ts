/**
 * POST /api/user/organizations/{organizationId}/payments/checkout: a Stripe Checkout Session that
 * subscribes the organization to a paid tier.
 *
 * - The tier must be a paid one of the catalogue with a price for the interval; the seats at least
 *   the organization's members (pending invitations are not counted: they may never be accepted,
 *   and one accepted beyond the seats is refused then) and at most the tier's maxSeats.
 * - successUrl and cancelUrl must be on a trusted origin.
 * - An organization whose subscription is still live changes it in the customer portal: a second
 *   checkout would make a second subscription.
 * - The session names the organization three ways (client_reference_id, metadata, the
 *   subscription's metadata), so that the webhook can tie what Stripe reports back to it.
 */
import { z } from 'zod';
import { MemberSchema } from '../../../entities/organization.js';
import { SubscriptionSchema } from '../../../entities/billing.js';
import { ApiError, validationMessage, type FieldError } from '../../../server/errors.js';
import { INTERVALS } from '../../../server/plans.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { callStripe, requireStripe } from '../../shared/billing.js';
import { auditSession, ensureCustomer } from './customer.js';
import { trustedReturnUrl } from './trusted-url.js';

/** Statuses of a subscription that still bills: changed in the portal, not by a new checkout. */
const LIVE = new Set(['active', 'trialing', 'past_due', 'unpaid', 'paused']);

const ReturnUrl = z.string().max(2048, 'Must be at most 2048 characters');

export const createCheckout = tenantProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/organizations/{organizationId}/payments/checkout',
      tags: ['billing'],
      summary: 'Start a Stripe Checkout for a paid tier',
    },
    message: 'Checkout session created successfully',
    status: 201,
    scopes: ['subscription:write'],
    permission: 'organization:manage-billing',
    errors: ['BILLING_NOT_CONFIGURED', 'CONFLICT'],
  })
  .input(
    z.strictObject({
      organizationId: z.string(),
      tierId: z.string().max(32, 'Must be at most 32 characters'),
      interval: z.enum(INTERVALS, 'Must be month or year'),
      seatCount: z
        .number()
        .int('Must be a whole number')
        .min(1, 'Must be at least 1')
        .max(1_000_000, 'Must be at most 1000000'),
      successUrl: ReturnUrl,
      cancelUrl: ReturnUrl,
    }),
  )
  .output(z.object({ sessionId: z.string(), url: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const stripe = requireStripe(ctx.services);
    const { config } = ctx.services;
    const organizationId = ctx.organization.id;
    const errors: FieldError[] = [];
    const invalid = (field: string, error: string) => errors.push({ field, error, location: 'body' });
    const tier = config.billing.tiers.find((candidate) => candidate.id === input.tierId);
    const price = tier?.prices[input.interval];
    const paid = config.billing.tiers.filter((candidate) => Object.keys(candidate.prices).length > 0);
    const paidIds = paid.map((candidate) => candidate.id).join(', ') || 'none is priced';
    if (!tier) invalid('tierId', `No such tier; the paid tiers are: ${paidIds}`);
    else if (!paid.includes(tier))
      invalid('tierId', `The ${tier.name} tier is not sold; the paid tiers are: ${paidIds}`);
    else if (!price) {
      invalid('interval', `The ${tier.name} tier is sold by the ${Object.keys(tier.prices).join(' or ')} only`);
    }
    const members = await ctx.em.count(MemberSchema, { organizationId });
    if (input.seatCount < members) invalid('seatCount', `Must be at least the ${members} members of the organization`);
    else if (tier && paid.includes(tier) && input.seatCount > tier.maxSeats)
      invalid('seatCount', `The ${tier.name} tier allows at most ${tier.maxSeats} seats`);
    const successUrl = trustedReturnUrl(config, 'successUrl', input.successUrl, errors);
    const cancelUrl = trustedReturnUrl(config, 'cancelUrl', input.cancelUrl, errors);
    if (errors.length > 0 || !tier || !price)
      throw new ApiError('VALIDATION_ERROR', validationMessage(errors), { errors });

    const subscription = await ctx.em.findOne(SubscriptionSchema, { organizationId }, { fields: ['status'] });
    if (subscription && LIVE.has(subscription.status)) {
      throw new ApiError(
        'CONFLICT',
        `This organization already has a ${subscription.status} subscription: change it in the customer portal`,
      );
    }
    const customer = await ensureCustomer(ctx.em, stripe, organizationId, ctx.principal.email);
    const session = await callStripe(() =>
      stripe.checkout.sessions.create({
        mode: 'subscription',
        customer,
        client_reference_id: organizationId,
        line_items: [{ price, quantity: input.seatCount }],
        success_url: successUrl,
        cancel_url: cancelUrl,
        metadata: { organizationId, tierId: tier.id, interval: input.interval },
        subscription_data: { metadata: { organizationId, tierId: tier.id } },
      }),
    );
    await auditSession(ctx, 'billing.checkout_started', {
      sessionId: session.id,
      tierId: tier.id,
      interval: input.interval,
      seatCount: input.seatCount,
    });
    return { sessionId: session.id, url: session.url ?? '' };
  });
