import { EntitySchema } from '@mikro-orm/core';
import { idColumn, optionalTimestamp, ownedBy, timestamp } from './columns.js';

/**
 * A personal access token (`ba_…`). Only the SHA-256 of the key is stored; after a rotation the
 * previous key's hash stays valid until `previousKeyExpiresAt` (at most 24 h).
 */
export interface ApiKey {
  id: string;
  userId: string;
  name: string;
  /** The first 8 characters, to recognise a key in lists. */
  start: string;
  keyHash: string;
  scopes: string[];
  /** Pinned keys work only on this organization's routes; they die with it. */
  organizationId: string | null;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  revokedAt: Date | null;
  previousKeyHash: string | null;
  previousKeyExpiresAt: Date | null;
  /** Minted by a session that signed in through this organization's SSO (its SSO-required policy reads it). */
  ssoOrganizationId: string | null;
}

export const ApiKeySchema = new EntitySchema<ApiKey>({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: idColumn,
    userId: { ...ownedBy('User'), fieldName: 'user_id' },
    name: { type: 'string', length: 100 },
    start: { type: 'string', length: 8 },
    keyHash: { type: 'string', columnType: 'char(64)', unique: 'api_keys_key_hash_unique' },
    scopes: { type: 'json', columnType: 'jsonb' },
    organizationId: {
      kind: 'm:1',
      entity: 'Organization',
      mapToPk: true,
      nullable: true,
      deleteRule: 'cascade',
      fieldName: 'organization_id',
      index: true,
    },
    expiresAt: optionalTimestamp,
    lastUsedAt: optionalTimestamp,
    metadata: { type: 'json', columnType: 'jsonb' },
    createdAt: timestamp,
    updatedAt: timestamp,
    revokedAt: optionalTimestamp,
    previousKeyHash: {
      type: 'string',
      columnType: 'char(64)',
      nullable: true,
      unique: 'api_keys_previous_key_hash_unique',
    },
    previousKeyExpiresAt: optionalTimestamp,
    ssoOrganizationId: { type: 'string', columnType: 'char(26)', nullable: true },
  },
});
