import { EntitySchema } from '@mikro-orm/core';
import { idColumn, ownedBy, timestamp } from './columns.js';

/** One sign-in attempt on a known account, successful or not. */
export interface LoginEvent {
  id: string;
  userId: string;
  ip: string;
  userAgent: string;
  method: 'password';
  outcome: 'success' | 'failure' | 'blocked';
  reason: string | null;
  createdAt: Date;
}

export const LoginEventSchema = new EntitySchema<LoginEvent>({
  name: 'LoginEvent',
  tableName: 'login_history',
  indexes: [{ name: 'login_history_user_created_idx', properties: ['userId', 'createdAt'] }],
  properties: {
    id: idColumn,
    userId: { ...ownedBy('User'), fieldName: 'user_id', index: false },
    ip: { type: 'string', length: 64 },
    userAgent: { type: 'string', length: 512 },
    method: { type: 'string', length: 32 },
    outcome: { type: 'string', length: 16 },
    reason: { type: 'string', length: 64, nullable: true },
    createdAt: timestamp,
  },
});
