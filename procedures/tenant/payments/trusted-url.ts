import type { Config } from '../../../server/config.js';
import type { FieldError } from '../../../server/errors.js';
import { trustedCallback } from '../../auth/callback-url.js';

/**
 * Where Stripe sends the browser back to must be one of ours (TRUSTED_ORIGINS or APP_URL's origin), as
 * for a sign-in's callbackURL: a path alone is taken on APP_URL. Pushes a field error otherwise.
 */
export function trustedReturnUrl(
  config: Pick<Config, 'appUrl' | 'trustedOrigins'>,
  field: string,
  value: string,
  errors: FieldError[],
): string {
  const url = trustedCallback(config, value);
  if (!url)
    errors.push({ field, error: 'Must be an http(s) URL on a trusted origin of this service', location: 'body' });
  return url?.href ?? '';
}
