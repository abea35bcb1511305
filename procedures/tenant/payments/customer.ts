/**
 * The organization's Stripe customer: exactly one per organization.
 *
 * - Made at the organization's first checkout, inside a transaction that holds the organization's
 *   row lock until its id is stored: a concurrent first checkout waits for the lock, then finds it.
 * - The create carries an Idempotency-Key derived from the organization and what is sent, so that a
 *   retry after a lost answer or a failed commit (within Stripe's 24 hours) gets the same customer
 *   back rather than a second one.
 */
import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type Stripe from 'stripe';
import { OrganizationSchema } from '../../../entities/organization.js';
import type { Services } from '../../../server/context.js';
import { sha256Hex } from '../../../server/crypto.js';
import { audit } from '../../../server/tenancy.js';
import { callStripe, customerDetails } from '../../shared/billing.js';
import { auditContext } from '../audit-context.js';

export async function ensureCustomer(
  em: EntityManager,
  stripe: Stripe,
  organizationId: string,
  fallbackEmail: string,
): Promise<string> {
  return em.transactional(async (tx) => {
    const organization = await tx.findOneOrFail(
      OrganizationSchema,
      { id: organizationId },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (organization.stripeCustomerId) return organization.stripeCustomerId;
    const params: Stripe.CustomerCreateParams = {
      ...customerDetails(organization, fallbackEmail),
      metadata: { organizationId },
    };
    const idempotencyKey = `customer-${organizationId}-${sha256Hex(JSON.stringify(params)).slice(0, 16)}`;
    const customer = await callStripe(() => stripe.customers.create(params, { idempotencyKey }));
    organization.stripeCustomerId = customer.id;
    await tx.flush();
    return customer.id;
  });
}

/**
 * Audits a session opened at Stripe for the organization (checkout, portal). The session exists
 * whatever happens here, so the entry is written on its own, once Stripe answered.
 */
export async function auditSession(
  ctx: Parameters<typeof auditContext>[0] & { em: EntityManager; services: Pick<Services, 'now'> },
  action: 'billing.checkout_started' | 'billing.portal_opened',
  metadata: Record<string, unknown>,
): Promise<void> {
  const em = ctx.em.fork();
  const entry = { action, targetType: 'organization', targetId: ctx.organization.id, metadata };
  audit(em, auditContext(ctx), entry, ctx.services.now());
  await em.flush();
}
