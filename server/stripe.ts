/**
 * The Stripe client, through the official SDK only: no request or signature is built by hand.
 * - Absent when STRIPE_SECRET_KEY is unset: billing then reads as the free tier everywhere, and
 *   checkout and the portal answer BILLING_NOT_CONFIGURED.
 * - STRIPE_API_BASE points the SDK at another server (a local stand-in in tests) through its
 *   host, port and protocol options.
 */
import Stripe from 'stripe';
import type { Config } from './config.js';

export function createStripe(config: Config): Stripe | undefined {
  const settings = config.billing.stripe;
  if (!settings) return undefined;
  const base = settings.apiBase ? new URL(settings.apiBase) : undefined;
  return new Stripe(settings.secretKey, {
    maxNetworkRetries: 2,
    timeout: 10_000,
    appInfo: { name: 'tenant-api' },
    ...(base && {
      host: base.hostname,
      port: base.port ? Number(base.port) : base.protocol === 'https:' ? 443 : 80,
      protocol: base.protocol === 'https:' ? 'https' : 'http',
    }),
  });
}
