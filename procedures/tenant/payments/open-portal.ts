import { z } from 'zod';
import { OrganizationSchema } from '../../../entities/organization.js';
import { ApiError, validationMessage, type FieldError } from '../../../server/errors.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { callStripe, requireStripe } from '../../shared/billing.js';
import { auditSession } from './customer.js';
import { trustedReturnUrl } from './trusted-url.js';

/**
 * POST /api/user/organizations/{organizationId}/payments/portal: a Stripe customer portal session,
 * where the organization changes its tier, seats or card, cancels, and reads its invoices. The
 * organization must have a Stripe customer (made by its first checkout): CONFLICT otherwise.
 * returnUrl, on a trusted origin, defaults to APP_URL.
 */
export const openPortal = tenantProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/user/organizations/{organizationId}/payments/portal',
      tags: ['billing'],
      summary: 'Open the Stripe customer portal',
    },
    message: 'Portal session created successfully',
    status: 201,
    scopes: ['subscription:write'],
    permission: 'organization:manage-billing',
    errors: ['BILLING_NOT_CONFIGURED', 'CONFLICT'],
  })
  .input(
    z.strictObject({
      organizationId: z.string(),
      returnUrl: z.string().max(2048, 'Must be at most 2048 characters').optional(),
    }),
  )
  .output(z.object({ url: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const stripe = requireStripe(ctx.services);
    const { config } = ctx.services;
    const errors: FieldError[] = [];
    const returnUrl = trustedReturnUrl(config, 'returnUrl', input.returnUrl ?? `${config.appUrl}/`, errors);
    if (errors.length > 0) throw new ApiError('VALIDATION_ERROR', validationMessage(errors), { errors });
    const { stripeCustomerId: customer } = await ctx.em.findOneOrFail(
      OrganizationSchema,
      { id: ctx.organization.id },
      { fields: ['stripeCustomerId'] },
    );
    if (!customer) {
      throw new ApiError('CONFLICT', 'This organization has no Stripe customer yet: its first checkout makes one');
    }
    const session = await callStripe(() => stripe.billingPortal.sessions.create({ customer, return_url: returnUrl }));
    await auditSession(ctx, 'billing.portal_opened', { sessionId: session.id });
    return { url: session.url };
  });
