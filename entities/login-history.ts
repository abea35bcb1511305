import { EntitySchema } from '@mikro-orm/core';
import { idColumn, ownedBy, timestamp } from './columns.js';
import type { AuthMethod } from './session.js';

/**
 * One sign-in attempt on a known account: the factor tried (`method`) and what came of it. A first
 * factor that leads to a second step is `challenged`; the second step is its own row.
 */
export interface LoginEvent {
  id: string;
  /** Null for a failed federated sign-in that named no known account. */
  userId: string | null;
  ip: string;
  userAgent: string;
  method: AuthMethod;
  outcome: 'success' | 'failure' | 'blocked' | 'challenged';
  reason: string | null;
  /** A federated sign-in's provider: a social provider's id, or `sso:<connection id>`. */
  provider: string | null;
  /** The address a federated provider asserted, when the attempt got that far. */
  email: string | null;
  createdAt: Date;
}

export const LoginEventSchema = new EntitySchema<LoginEvent>({
  name: 'LoginEvent',
  tableName: 'login_history',
  indexes: [{ name: 'login_history_user_created_idx', properties: ['userId', 'createdAt'] }],
  properties: {
    id: idColumn,
    userId: { ...ownedBy('User'), fieldName: 'user_id', index: false, nullable: true },
    ip: { type: 'string', length: 64 },
    userAgent: { type: 'string', length: 512 },
    method: { type: 'string', length: 32 },
    outcome: { type: 'string', length: 16 },
    reason: { type: 'string', length: 64, nullable: true },
    provider: { type: 'string', length: 64, nullable: true },
    email: { type: 'string', length: 320, nullable: true },
    createdAt: timestamp,
  },
});
