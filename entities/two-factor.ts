import { EntitySchema } from '@mikro-orm/core';
import { idColumn, optionalTimestamp, ownedBy, timestamp } from './columns.js';

/**
 * A user's TOTP authenticator. `secret` is AES-256-GCM ciphertext under ENCRYPTION_KEY; the factor
 * counts only once `confirmedAt` is set. `lastUsedStep` is the time step of the last accepted code,
 * advanced by one conditional UPDATE so that a code is accepted once, across every instance.
 */
export interface TwoFactor {
  userId: string;
  secret: string;
  confirmedAt: Date | null;
  lastUsedStep: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export const TwoFactorSchema = new EntitySchema<TwoFactor>({
  name: 'TwoFactor',
  tableName: 'two_factors',
  properties: {
    userId: { ...ownedBy('User'), fieldName: 'user_id', primary: true, index: false },
    secret: { type: 'text' },
    confirmedAt: optionalTimestamp,
    lastUsedStep: { type: 'bigint', nullable: true },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
});

/** One of a user's ten single-use backup codes; only a keyed hash of the code is stored. */
export interface BackupCode {
  id: string;
  userId: string;
  codeHash: string;
  usedAt: Date | null;
  createdAt: Date;
}

export const BackupCodeSchema = new EntitySchema<BackupCode>({
  name: 'BackupCode',
  tableName: 'backup_codes',
  uniques: [{ name: 'backup_codes_user_code_unique', properties: ['userId', 'codeHash'] }],
  properties: {
    id: idColumn,
    userId: { ...ownedBy('User'), fieldName: 'user_id', index: false },
    codeHash: { type: 'string', columnType: 'char(64)' },
    usedAt: optionalTimestamp,
    createdAt: timestamp,
  },
});

/**
 * The step between a first factor (password, magic link) and the second: a 5-minute, single-use
 * token held in an HttpOnly cookie (only its SHA-256 here), bound to one user, dead after 5 tries.
 * `methods` are the factors already proven, carried into the session it ends in.
 */
export interface SignInChallenge {
  id: string;
  userId: string;
  tokenHash: string;
  methods: string[];
  attempts: number;
  expiresAt: Date;
  usedAt: Date | null;
  createdAt: Date;
  /** A social sign-in's provider, for the history row of the second step. */
  provider: string | null;
}

export const SignInChallengeSchema = new EntitySchema<SignInChallenge>({
  name: 'SignInChallenge',
  tableName: 'sign_in_challenges',
  properties: {
    id: idColumn,
    userId: { ...ownedBy('User'), fieldName: 'user_id' },
    tokenHash: { type: 'string', columnType: 'char(64)', unique: 'sign_in_challenges_token_hash_unique' },
    methods: { type: 'string[]', columnType: 'text[]' },
    attempts: { type: 'integer', default: 0 },
    expiresAt: timestamp,
    usedAt: optionalTimestamp,
    createdAt: timestamp,
    provider: { type: 'string', length: 64, nullable: true },
  },
});
