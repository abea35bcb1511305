import { z } from 'zod';

/** An email address as accounts store it: trimmed and lower-cased. */
export const Email = z
  .string()
  .trim()
  .toLowerCase()
  .max(320, 'Must be at most 320 characters')
  .email('Must be an email address');

export const IsoDate = z.string().describe('ISO 8601 UTC timestamp');
export const iso = (date: Date): string => date.toISOString();
export const isoOrNull = (date: Date | null): string | null => (date ? date.toISOString() : null);

export const UserSummary = z.object({
  id: z.string(),
  email: z.string(),
  fullName: z.string(),
  isVerified: z.boolean(),
});

export const SessionSummary = z.object({ id: z.string(), expiresAt: IsoDate });

export const SignedIn = z.object({ user: UserSummary, session: SessionSummary });

/** A first factor was proven; the second step (verify-totp or verify-backup-code) finishes the sign-in. */
export const TwoFactorRequired = z.object({ twoFactorRequired: z.literal(true) });

export function userSummary(user: { id: string; email: string; fullName: string; verifiedAt: Date | null }) {
  return { id: user.id, email: user.email, fullName: user.fullName, isVerified: user.verifiedAt !== null };
}
