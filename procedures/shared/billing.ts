/**
 * An organization's billing details and how they reach Stripe, shared by checkout and the billing settings.
 *
 * - Stripe's customer mirrors the organization: its name, the billing email (the acting member's
 *   address while none is set), the address, and the tax id as an invoice custom field ("Tax ID"),
 *   printed on every invoice; metadata.organizationId ties it back.
 * - Checkout and the portal need a Stripe key: without one they answer BILLING_NOT_CONFIGURED.
 * - Stripe unreachable, rate-limited or failing on its side is 503 SERVICE_UNAVAILABLE with
 *   Retry-After, and nothing is stored; any other refusal by Stripe (a rejected key, an unknown price,
 *   a customer deleted at Stripe) is a configuration fault: INTERNAL_ERROR, its detail in the log.
 */
import type Stripe from 'stripe';
import { z } from 'zod';
import type { BillingAddress, Organization } from '../../entities/organization.js';
import type { Services } from '../../server/context.js';
import { ApiError } from '../../server/errors.js';
import { Email } from '../auth/schemas.js';

/** ISO 3166-1 alpha-2, and XK (Kosovo), which Stripe also accepts. */
const COUNTRIES = new Set(
  `AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA
  CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA
  GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
  KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS
  MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS
  RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW
  TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW`.split(/\s+/),
);

const line = (max: number) => z.string().trim().min(1, 'Required').max(max, `Must be at most ${max} characters`);
const optionalLine = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `Must be at most ${max} characters`)
    .nullish()
    .transform((value) => value || null);

export const BillingAddressInput = z.strictObject({
  line1: line(200),
  line2: optionalLine(200),
  city: line(100),
  postalCode: line(20),
  state: optionalLine(100),
  country: z
    .string()
    .trim()
    .toUpperCase()
    .refine((code) => COUNTRIES.has(code), 'Must be an ISO 3166-1 alpha-2 country code such as FR or US'),
});

/** A VAT number, EIN, ABN…: printed on invoices as given. */
export const TaxId = z
  .string()
  .trim()
  .min(1, { error: 'Required', abort: true })
  .max(64, { error: 'Must be at most 64 characters', abort: true })
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} .\-/]*$/u, 'Use letters, digits, spaces, dots, hyphens and slashes');

export const BillingSettingsChanges = z.strictObject({
  billingEmail: Email.nullable().optional(),
  taxId: TaxId.nullable().optional(),
  address: BillingAddressInput.nullable().optional(),
});

export const BillingSettingsOutput = z.object({
  billingEmail: z.string().nullable(),
  taxId: z.string().nullable(),
  address: z
    .object({
      line1: z.string(),
      line2: z.string().nullable(),
      city: z.string(),
      postalCode: z.string(),
      state: z.string().nullable(),
      country: z.string(),
    })
    .nullable(),
});
export type BillingSettingsOutput = z.output<typeof BillingSettingsOutput>;

type BillingDetails = Pick<Organization, 'name' | 'billingEmail' | 'billingTaxId' | 'billingAddress'>;

export function billingSettingsOutput(organization: BillingDetails): BillingSettingsOutput {
  const address = organization.billingAddress;
  return {
    billingEmail: organization.billingEmail,
    taxId: organization.billingTaxId,
    address: address && {
      line1: address.line1,
      line2: address.line2,
      city: address.city,
      postalCode: address.postalCode,
      state: address.state,
      country: address.country,
    },
  };
}

const TAX_ID_FIELD = 'Tax ID';

function stripeAddress(address: BillingAddress): Stripe.AddressParam {
  return {
    line1: address.line1,
    line2: address.line2 ?? '',
    city: address.city,
    postal_code: address.postalCode,
    state: address.state ?? '',
    country: address.country,
  };
}

/** The customer's fields as Stripe should hold them; an empty string unsets one at Stripe. */
export function customerDetails(organization: BillingDetails, fallbackEmail: string) {
  return {
    name: organization.name,
    email: organization.billingEmail ?? fallbackEmail,
    address: organization.billingAddress ? stripeAddress(organization.billingAddress) : ('' as const),
    invoice_settings: {
      custom_fields: organization.billingTaxId
        ? [{ name: TAX_ID_FIELD, value: organization.billingTaxId }]
        : ('' as const),
    },
  } satisfies Stripe.CustomerUpdateParams;
}

/** The Stripe client, or BILLING_NOT_CONFIGURED. */
export function requireStripe(services: Pick<Services, 'stripe'>): Stripe {
  if (services.stripe) return services.stripe;
  throw new ApiError(
    'BILLING_NOT_CONFIGURED',
    'Billing is not configured on this server (no STRIPE_SECRET_KEY): every organization is on the free tier',
  );
}

interface StripeErrorLike {
  type?: string;
  statusCode?: number;
}

function isTransient(error: StripeErrorLike): boolean {
  if (error.type === 'StripeConnectionError' || error.type === 'StripeRateLimitError') return true;
  return error.type === 'StripeAPIError' || error.statusCode === 429 || (error.statusCode ?? 0) >= 500;
}

/** Runs a Stripe call, turning Stripe's transient failures into SERVICE_UNAVAILABLE (see the list above). */
export async function callStripe<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof Error && 'type' in error && isTransient(error as StripeErrorLike)) {
      throw new ApiError(
        'SERVICE_UNAVAILABLE',
        'Stripe could not be reached; nothing was changed, please retry shortly',
        { retryAfter: 5 },
        { cause: error },
      );
    }
    throw error;
  }
}
