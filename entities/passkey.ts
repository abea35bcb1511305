import { EntitySchema } from '@mikro-orm/core';
import { idColumn, optionalTimestamp, ownedBy, timestamp } from './columns.js';

/** A WebAuthn credential (passkey) registered by a user; `publicKey` is the COSE key, base64url. */
export interface Passkey {
  id: string;
  userId: string;
  /** The authenticator's credential id, base64url. */
  credentialId: string;
  publicKey: string;
  /** The signature counter last seen; bigint as a string. */
  counter: string;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
  aaguid: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export const PasskeySchema = new EntitySchema<Passkey>({
  name: 'Passkey',
  tableName: 'passkeys',
  properties: {
    id: idColumn,
    userId: { ...ownedBy('User'), fieldName: 'user_id' },
    credentialId: { type: 'string', length: 1024, unique: 'passkeys_credential_id_unique' },
    publicKey: { type: 'text' },
    counter: { type: 'bigint', default: 0 },
    transports: { type: 'string[]', columnType: 'text[]' },
    deviceType: { type: 'string', length: 32 },
    backedUp: { type: 'boolean' },
    aaguid: { type: 'string', length: 36 },
    name: { type: 'string', length: 100 },
    createdAt: timestamp,
    lastUsedAt: optionalTimestamp,
  },
});

/**
 * A WebAuthn challenge handed out by an options call: single use, 5 minutes, only its SHA-256 kept.
 * Registration challenges are bound to the signed-in user; authentication ones (usernameless) to nobody.
 */
export interface WebAuthnChallenge {
  id: string;
  challengeHash: string;
  purpose: 'register' | 'authenticate';
  userId: string | null;
  expiresAt: Date;
  usedAt: Date | null;
  createdAt: Date;
}

export const WebAuthnChallengeSchema = new EntitySchema<WebAuthnChallenge>({
  name: 'WebAuthnChallenge',
  tableName: 'webauthn_challenges',
  properties: {
    id: idColumn,
    challengeHash: { type: 'string', columnType: 'char(64)', unique: 'webauthn_challenges_challenge_hash_unique' },
    purpose: { type: 'string', length: 16 },
    userId: { ...ownedBy('User'), fieldName: 'user_id', nullable: true },
    expiresAt: timestamp,
    usedAt: optionalTimestamp,
    createdAt: timestamp,
  },
});
