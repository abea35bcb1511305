import { z } from 'zod';
import { OrganizationSchema } from '../../../entities/organization.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { BillingSettingsOutput, billingSettingsOutput } from '../../shared/billing.js';

/** GET /api/user/organizations/{organizationId}/settings/billing: billing email, tax id and address. */
export const getBillingSettings = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/settings/billing',
      tags: ['billing'],
      summary: 'Billing details',
    },
    message: 'Billing settings fetched successfully',
    scopes: ['subscription:read'],
    permission: 'organization:manage-billing',
  })
  .input(z.object({ organizationId: z.string() }))
  .output(BillingSettingsOutput)
  .query(async ({ ctx }) =>
    billingSettingsOutput(
      await ctx.em.findOneOrFail(
        OrganizationSchema,
        { id: ctx.organization.id },
        { fields: ['name', 'billingEmail', 'billingTaxId', 'billingAddress'] },
      ),
    ),
  );
