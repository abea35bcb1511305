import { EntitySchema } from '@mikro-orm/core';
import { idColumn, optionalTimestamp, ownedBy, timestamp } from './columns.js';

export interface EmailPreferences {
  marketingOptOut: boolean;
}

export interface User {
  id: string;
  /** Stored lower-cased, so uniqueness is case-insensitive. */
  email: string;
  fullName: string;
  isActive: boolean;
  verifiedAt: Date | null;
  lastLoginAt: Date | null;
  emailPreferences: EmailPreferences;
  /** Platform role, not an organization role. */
  role: 'user' | 'admin';
  createdAt: Date;
  updatedAt: Date;
}

export const UserSchema = new EntitySchema<User>({
  name: 'User',
  tableName: 'users',
  properties: {
    id: idColumn,
    email: { type: 'string', length: 320, unique: 'users_email_unique' },
    fullName: { type: 'string', length: 200 },
    isActive: { type: 'boolean', default: true },
    verifiedAt: optionalTimestamp,
    lastLoginAt: optionalTimestamp,
    emailPreferences: { type: 'json', columnType: 'jsonb' },
    role: { type: 'string', length: 16, default: 'user' },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
});

/** A way to sign in; `credential` holds the argon2id hash of the password. */
export interface Account {
  id: string;
  userId: string;
  providerId: 'credential';
  passwordHash: string;
  createdAt: Date;
  updatedAt: Date;
}

export const AccountSchema = new EntitySchema<Account>({
  name: 'Account',
  tableName: 'accounts',
  uniques: [{ name: 'accounts_user_provider_unique', properties: ['userId', 'providerId'] }],
  properties: {
    id: idColumn,
    userId: { ...ownedBy('User'), fieldName: 'user_id' },
    providerId: { type: 'string', length: 32 },
    passwordHash: { type: 'text' },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
});
