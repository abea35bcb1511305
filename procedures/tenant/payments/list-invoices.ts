import { z } from 'zod';
import { InvoiceSchema } from '../../../entities/billing.js';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { tenantProcedure } from '../../../server/trpc.js';
import { iso, IsoDate, isoOrNull } from '../../auth/schemas.js';

const InvoiceOutput = z.object({
  id: z.string(),
  stripeInvoiceId: z.string(),
  amountDue: z.number().int().describe('In the currency’s minor unit (cents)'),
  amountPaid: z.number().int(),
  currency: z.string().describe('ISO 4217, lower case'),
  status: z.string().describe('draft, open, paid, uncollectible or void'),
  hostedInvoiceUrl: z.string().nullable(),
  periodStart: IsoDate.nullable(),
  periodEnd: IsoDate.nullable(),
  createdAt: IsoDate.describe('When Stripe created the invoice'),
});

/**
 * GET /api/user/organizations/{organizationId}/payments/history: the organization's invoices as the
 * webhook recorded them, newest first (by Stripe's creation time). Answers without Stripe configured.
 */
export const listInvoices = tenantProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/user/organizations/{organizationId}/payments/history',
      tags: ['billing'],
      summary: 'Payment history (invoices)',
    },
    message: 'Items fetched successfully',
    scopes: ['subscription:read'],
    permission: 'organization:manage-billing',
  })
  .input(PageInput.extend({ organizationId: z.string() }))
  .output(pageOf(InvoiceOutput))
  .query(async ({ ctx, input }) => {
    const [invoices, total] = await ctx.em.findAndCount(
      InvoiceSchema,
      { organizationId: ctx.organization.id },
      { orderBy: { stripeCreatedAt: 'desc', id: 'desc' }, offset: input.offset, limit: input.limit },
    );
    const items = invoices.map((invoice) => ({
      id: invoice.id,
      stripeInvoiceId: invoice.stripeInvoiceId,
      amountDue: invoice.amountDue,
      amountPaid: invoice.amountPaid,
      currency: invoice.currency,
      status: invoice.status,
      hostedInvoiceUrl: invoice.hostedInvoiceUrl,
      periodStart: isoOrNull(invoice.periodStart),
      periodEnd: isoOrNull(invoice.periodEnd),
      createdAt: iso(invoice.stripeCreatedAt),
    }));
    return toPage(items, total, input);
  });
