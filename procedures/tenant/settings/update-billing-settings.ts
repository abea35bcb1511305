/**
 * PUT /api/user/organizations/{organizationId}/settings/billing: the fields sent replace the stored
 * ones (null clears one; an address is replaced whole), the others stay.
 *
 * - When the organization has a Stripe customer and Stripe is configured, the customer is updated
 *   first, inside the transaction that holds the organization's row lock, and the change commits only
 *   once Stripe took it: a Stripe failure leaves both sides as they were. Should the commit fail
 *   after Stripe took it, the request fails and its retry (PUT is idempotent) brings both in line.
 * - Concurrent changes, and a first checkout making the customer, are serialised by that lock.
 */
import { LockMode } from '@mikro-orm/core';
import { z } from 'zod';
import { OrganizationSchema } from '../../../entities/organization.js';
import { audit } from '../../../server/tenancy.js';
import { tenantProcedure } from '../../../server/trpc.js';
import {
  BillingSettingsChanges,
  BillingSettingsOutput,
  billingSettingsOutput,
  callStripe,
  customerDetails,
} from '../../shared/billing.js';
import { auditContext } from '../audit-context.js';

export const updateBillingSettings = tenantProcedure
  .meta({
    openapi: {
      method: 'PUT',
      path: '/user/organizations/{organizationId}/settings/billing',
      tags: ['billing'],
      summary: 'Change billing details',
    },
    message: 'Billing settings updated successfully',
    scopes: ['subscription:write'],
    permission: 'organization:manage-billing',
  })
  .input(BillingSettingsChanges.extend({ organizationId: z.string() }))
  .output(BillingSettingsOutput)
  .mutation(async ({ ctx, input }) => {
    const { organizationId: _, ...changes } = input;
    const now = ctx.services.now();
    const { stripe } = ctx.services;
    return ctx.em.transactional(async (em) => {
      const organization = await em.findOneOrFail(
        OrganizationSchema,
        { id: ctx.organization.id },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (changes.billingEmail !== undefined) organization.billingEmail = changes.billingEmail;
      if (changes.taxId !== undefined) organization.billingTaxId = changes.taxId;
      if (changes.address !== undefined) organization.billingAddress = changes.address;
      const customer = organization.stripeCustomerId;
      if (customer && stripe) {
        await callStripe(() => stripe.customers.update(customer, customerDetails(organization, ctx.principal.email)));
      }
      audit(
        em,
        auditContext(ctx),
        {
          action: 'billing.settings_updated',
          targetType: 'organization',
          targetId: organization.id,
          metadata: { changed: Object.keys(changes), syncedToStripe: Boolean(customer && stripe) },
        },
        now,
      );
      await em.flush();
      return billingSettingsOutput(organization);
    });
  });
