import { EntitySchema } from '@mikro-orm/core';
import { optionalTimestamp, timestamp } from './columns.js';

/**
 * The first answer to a POST sent with an Idempotency-Key, kept 24 h per (principal, key) so that a
 * retry gets the same answer; `completedAt` null means the first request is still running, or died
 * before it could record its answer (then `committedAt` tells whether its write committed).
 */
export interface IdempotencyRecord {
  /** Who sent it: `user:<id>`, `key:<id>`, or `ip:<address>` for anonymous calls. */
  principal: string;
  key: string;
  /** SHA-256 of method, path and body: the same key with another request is refused. */
  requestHash: string;
  status: number | null;
  body: string | null;
  /** The request holding the key (a ULID), so that a request whose claim was taken over cannot commit. */
  claimId: string | null;
  createdAt: Date;
  /** Set in the same transaction as the request's write: the write committed, whatever was answered. */
  committedAt: Date | null;
  completedAt: Date | null;
  expiresAt: Date;
}

export const IdempotencySchema = new EntitySchema<IdempotencyRecord>({
  name: 'IdempotencyRecord',
  tableName: 'idempotency_keys',
  indexes: [{ name: 'idempotency_keys_expires_idx', properties: ['expiresAt'] }],
  properties: {
    principal: { type: 'string', length: 64, primary: true },
    key: { type: 'string', length: 255, primary: true },
    requestHash: { type: 'string', columnType: 'char(64)' },
    status: { type: 'integer', nullable: true },
    body: { type: 'text', nullable: true },
    claimId: { type: 'string', columnType: 'char(26)', nullable: true },
    createdAt: timestamp,
    committedAt: optionalTimestamp,
    completedAt: optionalTimestamp,
    expiresAt: timestamp,
  },
});
