/**
 * SSO connections and their domains for the sign-in tests, written straight to the database (the one
 * place to switch to PUT /settings/sso once that route exists): the client secret is stored as the
 * service's ciphertext, a domain is verified unless asked otherwise.
 */
import { randomBytes } from 'node:crypto';
import { SsoConnectionSchema, SsoDomainSchema, type SsoConnection } from '../../entities/sso.js';
import { newId } from '../../server/ids.js';
import type { TestApp } from './app.js';

export type NewConnection = {
  organizationId: string;
  /** Verified domains it serves; `unverifiedDomains` are claimed but not verified. */
  domains?: string[];
  unverifiedDomains?: string[];
  defaultRole?: SsoConnection['defaultRole'];
  allowIdpInitiated?: boolean;
} & (
  | { type: 'oidc'; issuer: string; clientId: string; clientSecret: string }
  | { type: 'saml'; idpEntityId: string; ssoUrl: string; certificates: string[] }
);

/** Creates the connection and its domains; returns the connection id (the `providerId`). */
export async function createSsoConnection(t: TestApp, connection: NewConnection): Promise<string> {
  const em = t.services.orm.em.fork();
  const id = newId();
  const now = new Date();
  em.persist(
    em.create(SsoConnectionSchema, {
      id,
      organizationId: connection.organizationId,
      name: `${connection.type} test connection`,
      type: connection.type,
      defaultRole: connection.defaultRole ?? 'member',
      required: false,
      allowIdpInitiated: connection.allowIdpInitiated ?? false,
      oidcIssuer: connection.type === 'oidc' ? connection.issuer : null,
      oidcClientId: connection.type === 'oidc' ? connection.clientId : null,
      oidcClientSecret: connection.type === 'oidc' ? t.services.encrypter.encrypt(connection.clientSecret) : null,
      samlIdpEntityId: connection.type === 'saml' ? connection.idpEntityId : null,
      samlSsoUrl: connection.type === 'saml' ? connection.ssoUrl : null,
      samlCertificates: connection.type === 'saml' ? connection.certificates : [],
      createdAt: now,
      updatedAt: now,
    }),
  );
  const domains = [
    ...(connection.domains ?? []).map((domain) => ({ domain, verifiedAt: now })),
    ...(connection.unverifiedDomains ?? []).map((domain) => ({ domain, verifiedAt: null })),
  ];
  for (const { domain, verifiedAt } of domains) {
    em.persist(
      em.create(SsoDomainSchema, {
        id: newId(),
        organizationId: connection.organizationId,
        connectionId: id,
        domain,
        verificationToken: randomBytes(16).toString('hex'),
        verifiedAt,
        lastCheckedAt: verifiedAt,
        createdAt: now,
      }),
    );
  }
  await em.flush();
  return id;
}

/** A domain of its own for each test (verified domains are unique across organizations). */
export function uniqueDomain(prefix = 'corp'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}.example.com`;
}
