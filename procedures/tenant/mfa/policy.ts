/**
 * The organization's MFA policy (API.md section 9, `/mfa`):
 * - `required` shuts out, on every tenant route but my-membership and leave, each member who has
 *   neither a confirmed TOTP nor a passkey once their deadline passes (server/trpc.ts);
 * - a member's deadline is max(required since, joined) + `gracePeriodDays` (server/tenancy.ts);
 * - turning the policy on stamps `requiredSince`; turning it off clears it; changing only the grace
 *   period keeps it, so deadlines move with the period but never restart.
 */
import { z } from 'zod';
import type { Organization } from '../../../entities/organization.js';
import { IsoDate, isoOrNull } from '../../auth/schemas.js';

export const MAX_GRACE_PERIOD_DAYS = 90;

export const MfaPolicyOutput = z.object({
  required: z.boolean(),
  gracePeriodDays: z.number().int(),
  requiredSince: IsoDate.nullable(),
});

export const MfaPolicyChange = z.strictObject({
  // A literal, not z.boolean(): the REST adapter coerces boolean fields as Boolean(v) does, so "false"
  // would turn the policy on and a missing field would turn it off. Only true or false will do here.
  required: z.literal([true, false], 'Must be true or false'),
  gracePeriodDays: z
    .number()
    .int('Must be a whole number of days')
    .min(0, `Must be between 0 and ${MAX_GRACE_PERIOD_DAYS}`)
    .max(MAX_GRACE_PERIOD_DAYS, `Must be between 0 and ${MAX_GRACE_PERIOD_DAYS}`)
    .optional()
    .describe('Days each member has to comply, from the policy’s start or their joining; unchanged when left out'),
});

export function mfaPolicyOutput(
  organization: Pick<Organization, 'mfaRequired' | 'mfaGracePeriodDays' | 'mfaRequiredSince'>,
): z.output<typeof MfaPolicyOutput> {
  return {
    required: organization.mfaRequired,
    gracePeriodDays: organization.mfaGracePeriodDays,
    requiredSince: isoOrNull(organization.mfaRequiredSince),
  };
}
