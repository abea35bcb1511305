import { EntitySchema } from '@mikro-orm/core';
import { idColumn, optionalTimestamp, ownedBy, timestamp } from './columns.js';

export type VerificationPurpose = 'verify-email' | 'reset-password' | 'change-email' | 'magic-link';

/**
 * A single-use emailed token; only its SHA-256 is stored. `email` is the address it was sent to.
 * `userId` is null only for a magic link to an address that has no account yet.
 */
export interface Verification {
  id: string;
  userId: string | null;
  purpose: VerificationPurpose;
  tokenHash: string;
  email: string;
  expiresAt: Date;
  usedAt: Date | null;
  createdAt: Date;
}

export const VerificationSchema = new EntitySchema<Verification>({
  name: 'Verification',
  tableName: 'verifications',
  properties: {
    id: idColumn,
    userId: { ...ownedBy('User'), fieldName: 'user_id', nullable: true },
    purpose: { type: 'string', length: 32 },
    tokenHash: { type: 'string', columnType: 'char(64)', unique: 'verifications_token_hash_unique' },
    email: { type: 'string', length: 320 },
    expiresAt: timestamp,
    usedAt: optionalTimestamp,
    createdAt: timestamp,
  },
});
