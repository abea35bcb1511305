/**
 * Passwords.
 *
 * - argon2id with m=19 MiB, t=2, p=1, hashed off the event loop, at most one hash per CPU core at a
 *   time: the thread pool would run four at once, and on two cores the extra two only take the CPU
 *   from the event loop. npm run bench:sign-in on 2 cores, Node 20: without the cap 43 sign-ins/s and
 *   health at 41 of its 50 req/s with a p99 of 64 ms; with it 46 sign-ins/s, health at 50 req/s, p99 52 ms.
 * - 8..256 characters, no composition rules, never truncated; refused when on a list of about 49,000
 *   common passwords (zxcvbn-ts's list, shipped as a pinned dependency).
 * - `verifyPasswordOrDummy` hashes against a dummy when there is no account, so that an unknown email
 *   and a wrong password take about the same time.
 */
import { availableParallelism } from 'node:os';
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

const HASH_SLOTS = Math.max(1, availableParallelism());
let hashing = 0;
const waiting: (() => void)[] = [];

/** Runs `work` when a hashing slot is free; a finished hash hands its slot straight to the next in line. */
async function inHashingSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashing < HASH_SLOTS) hashing++;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else hashing--;
  }
}

export function hashPassword(password: string): Promise<string> {
  return inHashingSlot(() => hash(password, ARGON2));
}

function verifyHash(passwordHash: string, password: string): Promise<boolean> {
  return inHashingSlot(() => verify(passwordHash, password)).catch(() => false);
}

let dummyHash: Promise<string> | undefined;

export async function verifyPasswordOrDummy(
  passwordHash: string | null | undefined,
  password: string,
): Promise<boolean> {
  if (!passwordHash) {
    dummyHash ??= hashPassword(randomToken());
    await verifyHash(await dummyHash, password);
    return false;
  }
  return verifyHash(passwordHash, password);
}
