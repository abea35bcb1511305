import { EntitySchema } from '@mikro-orm/core';
import { idColumn, optionalTimestamp, ownedBy, timestamp } from './columns.js';

/**
 * How a user proved who they are: password, TOTP code, backup code, passkey, emailed link, and later
 * enterprise SSO and social sign-in.
 */
export const AUTH_METHODS = ['pwd', 'otp', 'backup', 'webauthn', 'magic-link', 'sso', 'social'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/**
 * A signed-in browser. The cookie holds the token; only its SHA-256 is stored. `authMethods` are the
 * factors the sign-in proved; `strongAuthAt` is when the user last proved themselves (the sign-in, or
 * a later re-authentication), which step-up for security actions reads.
 */
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
  authMethods: AuthMethod[];
  strongAuthAt: Date;
  /** The organization whose SSO connection signed this session in (its SSO-required policy reads it). */
  ssoOrganizationId: string | null;
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
    authMethods: { type: 'string[]', columnType: 'text[]' },
    strongAuthAt: timestamp,
    ssoOrganizationId: { type: 'string', columnType: 'char(26)', nullable: true },
  },
});
