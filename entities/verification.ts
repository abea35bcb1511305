import { EntitySchema } from '@mikro-orm/core';
import { idColumn, optionalTimestamp, ownedBy, timestamp } from './columns.js';

export type VerificationPurpose = 'verify-email' | 'reset-password' | 'change-email';

/** A single-use emailed token; only its SHA-256 is stored. `email` is the address it was sent to. */
export interface Verification {
  id: string;
  userId: string;
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
    userId: { ...ownedBy('User'), fieldName: 'user_id' },
    purpose: { type: 'string', length: 32 },
    tokenHash: { type: 'string', columnType: 'char(64)', unique: 'verifications_token_hash_unique' },
    email: { type: 'string', length: 320 },
    expiresAt: timestamp,
    usedAt: optionalTimestamp,
    createdAt: timestamp,
  },
});
