import { EntitySchema } from '@mikro-orm/core';
import { clearedWith, idColumn, optionalTimestamp, ownedBy, timestamp } from './columns.js';
import type { Member } from './organization.js';

/**
 * An organization's enterprise SSO connection: an OpenID Connect provider (issuer, client id, client
 * secret as AES-256-GCM ciphertext) or a SAML 2.0 identity provider (entity id, SSO URL, signing
 * certificates in PEM). New members it signs in get `defaultRole`; `required` makes members whose
 * address is on one of its verified domains sign in through it to use the organization's routes.
 */
export interface SsoConnection {
  id: string;
  organizationId: string;
  name: string;
  type: 'oidc' | 'saml';
  defaultRole: Exclude<Member['role'], 'owner'>;
  required: boolean;
  /** SAML only: accept responses the identity provider sends unasked (no AuthnRequest of ours). */
  allowIdpInitiated: boolean;
  oidcIssuer: string | null;
  oidcClientId: string | null;
  /** Ciphertext (services.encrypter); never returned by the API. */
  oidcClientSecret: string | null;
  samlIdpEntityId: string | null;
  samlSsoUrl: string | null;
  samlCertificates: string[];
  createdAt: Date;
  updatedAt: Date;
}

export const SsoConnectionSchema = new EntitySchema<SsoConnection>({
  name: 'SsoConnection',
  tableName: 'sso_connections',
  properties: {
    id: idColumn,
    organizationId: { ...ownedBy('Organization'), fieldName: 'organization_id' },
    name: { type: 'string', length: 100 },
    type: { type: 'string', length: 8 },
    defaultRole: { type: 'string', length: 16 },
    required: { type: 'boolean', default: false },
    allowIdpInitiated: { type: 'boolean', default: false },
    oidcIssuer: { type: 'string', length: 2048, nullable: true },
    oidcClientId: { type: 'string', length: 255, nullable: true },
    oidcClientSecret: { type: 'text', nullable: true },
    samlIdpEntityId: { type: 'string', length: 1024, nullable: true },
    samlSsoUrl: { type: 'string', length: 2048, nullable: true },
    samlCertificates: { type: 'string[]', columnType: 'text[]' },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
});

/**
 * An email domain an organization claims for SSO. It serves its connection only once `verifiedAt` is
 * set, after the DNS TXT record `_api-verification.<domain>` held `verificationToken`; a domain is
 * verified by one organization at a time (a partial unique index).
 */
export interface SsoDomain {
  id: string;
  organizationId: string;
  connectionId: string | null;
  domain: string;
  verificationToken: string;
  verifiedAt: Date | null;
  lastCheckedAt: Date | null;
  createdAt: Date;
}

export const SsoDomainSchema = new EntitySchema<SsoDomain>({
  name: 'SsoDomain',
  tableName: 'sso_domains',
  uniques: [{ name: 'sso_domains_organization_domain_unique', properties: ['organizationId', 'domain'] }],
  properties: {
    id: idColumn,
    organizationId: { ...ownedBy('Organization'), fieldName: 'organization_id', index: false },
    connectionId: { ...clearedWith('SsoConnection', 'connection_id'), index: true },
    domain: { type: 'string', length: 253 },
    verificationToken: { type: 'string', length: 64 },
    verifiedAt: optionalTimestamp,
    lastCheckedAt: optionalTimestamp,
    createdAt: timestamp,
  },
});

/** An assertion id a SAML connection accepted, kept until the assertion expires: a replay is refused. */
export interface SamlAssertion {
  connectionId: string;
  assertionId: string;
  expiresAt: Date;
}

export const SamlAssertionSchema = new EntitySchema<SamlAssertion>({
  name: 'SamlAssertion',
  tableName: 'saml_assertions',
  properties: {
    connectionId: { type: 'string', columnType: 'char(26)', primary: true },
    assertionId: { type: 'string', length: 255, primary: true },
    expiresAt: timestamp,
  },
});
