import { EntitySchema } from '@mikro-orm/core';
import { idColumn, optionalTimestamp, ownedBy, timestamp } from './columns.js';

/** A signed-in browser. The cookie holds the token; only its SHA-256 is stored. */
export interface Session {
  id: string;
  userId: string;
  tokenHash: string;
  ip: string;
  userAgent: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export const SessionSchema = new EntitySchema<Session>({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: idColumn,
    userId: { ...ownedBy('User'), fieldName: 'user_id' },
    tokenHash: { type: 'string', columnType: 'char(64)', unique: 'sessions_token_hash_unique' },
    ip: { type: 'string', length: 64 },
    userAgent: { type: 'string', length: 512 },
    createdAt: timestamp,
    lastSeenAt: timestamp,
    expiresAt: timestamp,
    revokedAt: optionalTimestamp,
  },
});
