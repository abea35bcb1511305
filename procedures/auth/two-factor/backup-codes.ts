/**
 * Backup codes: the way in when the authenticator is lost.
 *
 * - Ten codes of 50 random bits each (10 base32 characters, shown as `xxxxx-xxxxx`), shown once.
 * - Stored as HMAC-SHA256 under a key derived from ENCRYPTION_KEY: a database dump alone does not
 *   let anyone test guesses offline, and a code's plain SHA-256 is not in the row either.
 * - Input is read with or without the dash, in any case, surrounding spaces ignored.
 * - Each code is spent once, by a conditional UPDATE (used_at), and only while two-factor is on.
 * - A new set replaces the old one entirely.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import { z } from 'zod';
import { BackupCodeSchema } from '../../../entities/two-factor.js';
import { newId } from '../../../server/ids.js';
import type { Encrypter } from '../../../server/secrets.js';

export const BACKUP_CODE_COUNT = 10;
const CODE_CHARACTERS = 10;

const FORMAT = 'Must be a backup code like abcde-fghij';
export const BackupCodeInput = z
  .string()
  .max(64, FORMAT)
  .trim()
  .toLowerCase()
  .regex(/^[a-z2-7]{5}-?[a-z2-7]{5}$/, FORMAT)
  .transform((code) => code.replace('-', ''));

function newBackupCode(): string {
  // 7 random bytes encode to 12 characters; the first 10 carry the first 50 bits.
  const code = encodeBase32LowerCaseNoPadding(randomBytes(7)).slice(0, CODE_CHARACTERS);
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** The keyed hash a code is stored as; `code` is normalised (no dash, lower case). */
export function backupCodeHash(encrypter: Encrypter, code: string): string {
  return createHmac('sha256', encrypter.derive('backup-codes')).update(code).digest('hex');
}

/** Replaces the user's backup codes with ten new ones, in the caller's transaction; returns them for showing once. */
export async function replaceBackupCodes(em: EntityManager, encrypter: Encrypter, userId: string, now: Date) {
  const codes = new Set<string>();
  while (codes.size < BACKUP_CODE_COUNT) codes.add(newBackupCode());
  await em.nativeDelete(BackupCodeSchema, { userId });
  await em.insertMany(
    BackupCodeSchema,
    [...codes].map((code) => ({
      id: newId(),
      userId,
      codeHash: backupCodeHash(encrypter, code.replace('-', '')),
      usedAt: null,
      createdAt: now,
    })),
  );
  return [...codes];
}

/**
 * Spends one unused backup code of a user whose two-factor is on, in the caller's transaction:
 * 'used' when it was, 'spent' when it had been used before, 'unknown' otherwise.
 */
export async function spendBackupCode(
  em: EntityManager,
  encrypter: Encrypter,
  userId: string,
  code: string,
  now: Date,
): Promise<'used' | 'spent' | 'unknown'> {
  const hash = backupCodeHash(encrypter, code);
  const rows = await em.getConnection().execute<{ used: boolean }[]>(
    `with spent as (
       update backup_codes set used_at = ?
        where user_id = ? and code_hash = ? and used_at is null
          and exists (select 1 from two_factors f where f.user_id = ? and f.confirmed_at is not null)
        returning id)
     select exists (select 1 from spent) as used,
            exists (select 1 from backup_codes where user_id = ? and code_hash = ? and used_at is not null) as before`,
    [now, userId, hash, userId, userId, hash],
    'all',
    em.getTransactionContext(),
  );
  const row = rows[0] as { used: boolean; before: boolean } | undefined;
  if (row?.used) return 'used';
  return row?.before ? 'spent' : 'unknown';
}
