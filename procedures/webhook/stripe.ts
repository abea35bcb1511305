/**
 * POST /api/webhook/stripe: Stripe's events, signed, applied exactly once and in order
 * (apply-stripe-event.ts, billing-state.ts).
 * - Without STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET it is 503 BILLING_NOT_CONFIGURED: no event
 *   can be verified, and Stripe keeps retrying until one can.
 * - The SDK verifies Stripe-Signature over the exact body (meta.rawBody) with a 5-minute tolerance
 *   on the service's clock: a missing, forged, wrongly keyed or stale signature is 400 BAD_REQUEST,
 *   and nothing is recorded. So is a signed body that is not JSON, or not an event.
 * - The SDK's own message is not echoed: it may describe the configured secret (length, last characters).
 * - The answer is 200 `{received: true}` once the event is recorded, `duplicate: true` when its id
 *   was recorded before.
 */
import Stripe from 'stripe';
import { z } from 'zod';
import { ApiError } from '../../server/errors.js';
import { webhookProcedure } from '../../server/trpc.js';
import { receiveStripeEvent } from './apply-stripe-event.js';
import { StripeEventEnvelope } from './stripe-objects.js';

const TOLERANCE_SECONDS = 300;

export const stripeWebhook = webhookProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/webhook/stripe',
      tags: ['webhook'],
      summary: 'Receive a Stripe event',
      description:
        'For Stripe only: the body is the event exactly as Stripe sent it, signed in the Stripe-Signature header ' +
        '(5-minute tolerance). Each event id is applied once; a repeat answers `duplicate: true`.',
    },
    message: 'Event received',
    rawBody: { signatureHeader: 'stripe-signature' },
    errors: ['BAD_REQUEST', 'BILLING_NOT_CONFIGURED'],
  })
  .input(z.object({ payload: z.string().max(1024 * 1024), signature: z.string().max(8192) }))
  .output(z.object({ received: z.literal(true), duplicate: z.boolean().optional() }))
  .mutation(async ({ ctx, input }) => {
    const { stripe } = ctx.services;
    const secret = ctx.services.config.billing.stripe?.webhookSecret;
    if (!stripe || !secret) {
      throw new ApiError('BILLING_NOT_CONFIGURED', 'Billing is not configured: Stripe events cannot be verified');
    }
    if (!input.signature) throw new ApiError('BAD_REQUEST', 'The Stripe-Signature header is missing');
    let event: unknown;
    try {
      event = stripe.webhooks.constructEvent(
        input.payload,
        input.signature,
        secret,
        TOLERANCE_SECONDS,
        undefined,
        ctx.services.now().getTime(),
      );
    } catch (error) {
      throw refusal(error);
    }
    const envelope = StripeEventEnvelope.safeParse(event);
    if (!envelope.success) throw new ApiError('BAD_REQUEST', 'The body is not a Stripe event');
    const { duplicate } = await receiveStripeEvent(ctx.em, ctx.services, envelope.data, {
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      log: ctx.log,
    });
    return duplicate ? { received: true as const, duplicate } : { received: true as const };
  });

/**
 * Why the SDK refused the delivery, in words that say nothing about the secret. It parses the body
 * only once the signature holds, so a SyntaxError is a signed body that is not JSON; a malformed
 * header fails inside the comparison with a plain Error, and is a signature that does not match.
 */
function refusal(error: unknown): ApiError {
  if (error instanceof SyntaxError) return new ApiError('BAD_REQUEST', 'The body is not JSON');
  if (error instanceof Stripe.errors.StripeSignatureVerificationError && /tolerance/i.test(error.message)) {
    return new ApiError(
      'BAD_REQUEST',
      'The Stripe-Signature timestamp is more than 5 minutes old: a replay is refused',
    );
  }
  return new ApiError('BAD_REQUEST', 'The Stripe-Signature header does not match the body');
}
