/**
 * TOTP (RFC 6238) as authenticator apps expect it: SHA-1, 6 digits, 30-second steps, one step of drift
 * either way. The HOTP computation is @oslojs/otp's; only the step is counted here, from the service's
 * clock (`services.now`), because the accepted step is what makes a code single-use.
 *
 * - The secret is 20 random bytes (160 bits, RFC 4226's recommendation), stored only as AES-256-GCM
 *   ciphertext under ENCRYPTION_KEY.
 * - A code is accepted once: its step must be later than the last accepted one, advanced by one
 *   conditional UPDATE (`acceptStep`), so the same code is refused on every instance sharing the database.
 */
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { createTOTPKeyURI, verifyHOTP } from '@oslojs/otp';
import { z } from 'zod';
import type { Config } from '../../../server/config.js';
import type { Encrypter } from '../../../server/secrets.js';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
const SECRET_BYTES = 20;
/** Steps accepted on either side of the current one (clock drift, a code typed as it changed). */
const DRIFT_STEPS = 1;

export const TotpCode = z
  .string()
  .max(64, 'Must be the 6-digit code from your authenticator app')
  .trim()
  .regex(/^\d{6}$/, 'Must be the 6-digit code from your authenticator app');

export function newTotpSecret(): Uint8Array {
  return new Uint8Array(randomBytes(SECRET_BYTES));
}

export const encryptSecret = (encrypter: Encrypter, key: Uint8Array): string =>
  encrypter.encrypt(Buffer.from(key).toString('base64'));

export const decryptSecret = (encrypter: Encrypter, ciphertext: string): Uint8Array =>
  new Uint8Array(Buffer.from(encrypter.decrypt(ciphertext), 'base64'));

/** The issuer authenticator apps show: the service's host name, so two deployments are told apart. */
export function totpIssuer(config: Pick<Config, 'baseUrl'>): string {
  return new URL(config.baseUrl).hostname;
}

export function totpUri(config: Pick<Config, 'baseUrl'>, email: string, key: Uint8Array): string {
  return createTOTPKeyURI(totpIssuer(config), email, key, TOTP_PERIOD_SECONDS, TOTP_DIGITS);
}

const stepAt = (now: Date): bigint => BigInt(Math.floor(now.getTime() / (TOTP_PERIOD_SECONDS * 1000)));

/** The time step `code` belongs to within the accepted window around `now`, or null. */
export function matchingStep(key: Uint8Array, code: string, now: Date): bigint | null {
  const current = stepAt(now);
  // The latest matching step: a code that matches twice is spent at its later step.
  for (let offset = DRIFT_STEPS; offset >= -DRIFT_STEPS; offset--) {
    const step = current + BigInt(offset);
    if (verifyHOTP(key, step, TOTP_DIGITS, code)) return step;
  }
  return null;
}

/**
 * Records `step` as the user's last accepted one, only if it is later than the previous: true when this
 * call advanced it. `confirmed` chooses the active factor (a sign-in) or the pending one (confirm).
 */
export async function acceptStep(
  em: EntityManager,
  userId: string,
  step: bigint,
  confirmed: boolean,
): Promise<boolean> {
  const rows = await em.getConnection().execute<unknown[]>(
    `update two_factors set last_used_step = ?, updated_at = now()
      where user_id = ? and confirmed_at is ${confirmed ? 'not null' : 'null'}
        and (last_used_step is null or last_used_step < ?)
      returning user_id`,
    [step.toString(), userId, step.toString()],
    'all',
    em.getTransactionContext(),
  );
  return rows.length === 1;
}
