/**
 * Passwords.
 *
 * - argon2id with m=19 MiB, t=2, p=1, hashed on libuv's thread pool so the event loop never waits.
 * - 8..256 characters, no composition rules, never truncated; refused when on a list of about 49,000
 *   common passwords (zxcvbn-ts's list, shipped as a pinned dependency).
 * - `verifyPasswordOrDummy` hashes against a dummy when there is no account, so that an unknown email
 *   and a wrong password take about the same time.
 */
import { hash, verify } from '@node-rs/argon2';
import { dictionary } from '@zxcvbn-ts/language-common';
import { z } from 'zod';
import { randomToken } from './crypto.js';

const ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

const COMMON = new Set((dictionary as Record<string, string[]>)['passwords-common']!.map((p) => p.toLowerCase()));

export const COMMON_PASSWORD_COUNT = COMMON.size;

export function isCommonPassword(password: string): boolean {
  return COMMON.has(password.toLowerCase());
}

/** A new password: what sign-up, reset and change accept. */
export const NewPassword = z
  .string()
  .min(8, 'Must be at least 8 characters')
  .max(256, 'Must be at most 256 characters')
  .refine((p) => !isCommonPassword(p), 'Is too common; choose one that is not on lists of leaked passwords');

/** A password being checked: bounded so that a huge string cannot be used to burn CPU. */
export const GivenPassword = z.string().min(1, 'Required').max(256, 'Must be at most 256 characters');

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2);
}

let dummyHash: Promise<string> | undefined;

export async function verifyPasswordOrDummy(
  passwordHash: string | null | undefined,
  password: string,
): Promise<boolean> {
  if (!passwordHash) {
    dummyHash ??= hashPassword(randomToken());
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}
