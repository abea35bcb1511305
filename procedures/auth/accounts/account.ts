/** A sign-in method as routes show it: never the password hash, never a token. */
import { z } from 'zod';
import type { Account } from '../../../entities/user.js';
import { iso, IsoDate } from '../schemas.js';

/** `accounts.provider_id` of the password. */
export const PASSWORD_PROVIDER = 'credential';

export const AccountSummary = z.object({
  id: z.string(),
  /** `credential` (the password), a social provider's id (`google`, `github`, …), or `sso:<connection id>`. */
  providerId: z.string(),
  /** The address the provider vouched for when it last signed in; null for the password (it is the user's). */
  email: z.string().nullable(),
  createdAt: IsoDate,
});

export function accountSummary(
  a: Pick<Account, 'id' | 'providerId' | 'email' | 'createdAt'>,
): z.output<typeof AccountSummary> {
  return {
    id: a.id,
    providerId: a.providerId,
    email: a.providerId === PASSWORD_PROVIDER ? null : a.email,
    createdAt: iso(a.createdAt),
  };
}
