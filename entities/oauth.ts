import { EntitySchema } from '@mikro-orm/core';
import { optionalTimestamp, ownedBy, timestamp } from './columns.js';

/**
 * An OAuth 2.1 client registered by a user. A confidential client's secret is 32 random bytes,
 * stored only as SHA-256 and shown once; a public client has none and must use PKCE alone.
 */
export interface OAuthClient {
  /** The client_id. */
  id: string;
  /** Who registered it; null for clients registered dynamically (RFC 7591). */
  userId: string | null;
  name: string;
  type: 'confidential' | 'public';
  secretHash: string | null;
  redirectUris: string[];
  allowedScopes: string[];
  grantTypes: string[];
  logoUri: string | null;
  policyUri: string | null;
  tosUri: string | null;
  createdAt: Date;
  updatedAt: Date;
  secretRotatedAt: Date | null;
}

export const OAuthClientSchema = new EntitySchema<OAuthClient>({
  name: 'OAuthClient',
  tableName: 'oauth_clients',
  properties: {
    id: { type: 'string', length: 64, primary: true },
    userId: { ...ownedBy('User'), fieldName: 'user_id', nullable: true },
    name: { type: 'string', length: 100 },
    type: { type: 'string', length: 16 },
    secretHash: { type: 'string', columnType: 'char(64)', nullable: true },
    redirectUris: { type: 'json', columnType: 'jsonb' },
    allowedScopes: { type: 'json', columnType: 'jsonb' },
    grantTypes: { type: 'json', columnType: 'jsonb' },
    logoUri: { type: 'string', length: 2048, nullable: true },
    policyUri: { type: 'string', length: 2048, nullable: true },
    tosUri: { type: 'string', length: 2048, nullable: true },
    createdAt: timestamp,
    updatedAt: timestamp,
    secretRotatedAt: optionalTimestamp,
  },
});

/**
 * What the OpenID provider keeps (grants, codes, refresh tokens, sessions, interactions), one row per
 * artifact, as node-oidc-provider's adapter contract expects: `model` + `id`, a JSON payload, and the
 * lookups it needs (by uid, by user code, by grant id). Ids that are bearer secrets, and user codes,
 * are stored as their SHA-256 (adapters/oauth/adapter.ts); a grant keeps its own id.
 */
export interface OidcArtifact {
  model: string;
  id: string;
  payload: Record<string, unknown>;
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  expiresAt: Date | null;
  consumedAt: Date | null;
}

export const OidcArtifactSchema = new EntitySchema<OidcArtifact>({
  name: 'OidcArtifact',
  tableName: 'oidc_artifacts',
  indexes: [
    { name: 'oidc_artifacts_grant_idx', properties: ['grantId'] },
    { name: 'oidc_artifacts_uid_idx', properties: ['uid'] },
    { name: 'oidc_artifacts_expires_idx', properties: ['expiresAt'] },
  ],
  properties: {
    model: { type: 'string', length: 64, primary: true },
    id: { type: 'string', length: 255, primary: true },
    payload: { type: 'json', columnType: 'jsonb' },
    grantId: { type: 'string', length: 255, nullable: true },
    userCode: { type: 'string', length: 255, nullable: true },
    uid: { type: 'string', length: 255, nullable: true },
    expiresAt: optionalTimestamp,
    consumedAt: optionalTimestamp,
  },
});

/**
 * An access token (a JWT, which cannot be deleted) revoked before it expires (RFC 7009): the API and
 * introspection refuse its `jti` until `expiresAt`, the token's own expiry, after which it is dropped.
 */
export interface RevokedAccessToken {
  jti: string;
  expiresAt: Date;
}

export const RevokedAccessTokenSchema = new EntitySchema<RevokedAccessToken>({
  name: 'RevokedAccessToken',
  tableName: 'revoked_access_tokens',
  indexes: [{ name: 'revoked_access_tokens_expires_idx', properties: ['expiresAt'] }],
  properties: {
    jti: { type: 'string', length: 255, primary: true },
    expiresAt: timestamp,
  },
});

/** A signing key of the provider, its private JWK encrypted (AES-256-GCM) under ENCRYPTION_KEY. */
export interface SigningKey {
  kid: string;
  alg: string;
  encryptedJwk: string;
  createdAt: Date;
  /** Past this the key no longer signs; it stays published until tokens it signed have expired. */
  retiredAt: Date | null;
}

export const SigningKeySchema = new EntitySchema<SigningKey>({
  name: 'SigningKey',
  tableName: 'signing_keys',
  properties: {
    kid: { type: 'string', length: 64, primary: true },
    alg: { type: 'string', length: 16 },
    encryptedJwk: { type: 'text' },
    createdAt: timestamp,
    retiredAt: optionalTimestamp,
  },
});
