/** Random tokens and their at-rest form. Tokens are stored only as SHA-256, compared by hash lookup. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes as 43 base64url characters. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
