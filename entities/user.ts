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

/**
 * A way to sign in. `credential` holds the argon2id hash of the password; any other provider is a
 * linked account (a social provider's id, or `sso:<connection id>`) with the provider's subject in
 * `accountId` and the address it vouched for in `email`.
 */
export interface Account {
  id: string;
  userId: string;
  providerId: string;
  accountId: string | null;
  email: string | null;
  passwordHash: string | null;
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
    providerId: { type: 'string', length: 64 },
    accountId: { type: 'string', length: 255, nullable: true },
    email: { type: 'string', length: 320, nullable: true },
    passwordHash: { type: 'text', nullable: true },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
});
