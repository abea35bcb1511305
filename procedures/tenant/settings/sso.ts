/**
 * The organization's SSO settings (API.md section 9, `/settings/sso`): its connections, the email
 * domains each serves, and what to give the identity provider.
 *
 * - The document never holds a secret: an OIDC client secret shows only as `clientSecretSet`, SAML
 *   certificates only by fingerprint, expiry and subject.
 * - A domain shows the TXT record that verifies it: `_api-verification.<domain>` holding its token.
 * - Our side of each connection (SP entity id and metadata, ACS, OIDC redirect URI) is derived from
 *   BASE_URL and the connection id, so it stays stable while the connection exists.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { SsoConnectionSchema, SsoDomainSchema, type SsoConnection, type SsoDomain } from '../../../entities/sso.js';
import { ApiError } from '../../../server/errors.js';
import { ssoUrls } from '../../../server/sso-urls.js';
import { IsoDate, iso, isoOrNull } from '../../auth/schemas.js';
import { certificateSummary } from './sso-saml.js';

export const MAX_CONNECTIONS = 10;
export const MAX_DOMAINS_PER_CONNECTION = 20;

/** The DNS name whose TXT record verifies `domain`. */
export const verificationRecordName = (domain: string) => `_api-verification.${domain}`;

/** A lower-cased DNS hostname of at least two labels (no trailing dot, no wildcard). */
export const SsoDomainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    'Must be a domain name like example.com',
  );

/**
 * The refusal of a change after which the SSO-required policy would shut the caller out of the
 * organization (their own address's domain, on a required connection, while this credential did not
 * come from a sign-in through the organization's SSO): they could not undo it.
 */
export function lockoutRefusal(baseUrl: string, connectionId: string, hint: string): ApiError {
  return new ApiError(
    'SSO_REQUIRED',
    `This would require single sign-on of your own email domain, and you did not sign in through it: ${hint}`,
    { reason: 'would-lock-you-out', providerId: connectionId, signInUrl: ssoUrls(baseUrl, connectionId).signIn },
  );
}

/** Our endpoints for connection `id`, to give the identity provider's administrator. */
export function serviceProviderEndpoints(baseUrl: string, id: string) {
  const urls = ssoUrls(baseUrl, id);
  return { spEntityId: urls.metadata, spMetadataUrl: urls.metadata, acsUrl: urls.acs, callbackUrl: urls.callback };
}

export const DomainOutput = z.object({
  domain: z.string(),
  verified: z.boolean(),
  verifiedAt: IsoDate.nullable(),
  verification: z.object({
    type: z.literal('TXT'),
    name: z.string().describe('The DNS name to publish the TXT record at'),
    value: z.string().describe('The TXT record’s value'),
  }),
});

const ConnectionOutput = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(['oidc', 'saml']),
  defaultRole: z.enum(['admin', 'member']).describe('The role of members this connection signs in for the first time'),
  required: z
    .boolean()
    .describe('Members whose email is on one of its verified domains must sign in through SSO to use the organization'),
  allowIdpInitiated: z.boolean().describe('SAML: accept sign-ins the identity provider starts'),
  domains: z.array(DomainOutput),
  oidc: z.object({ issuer: z.string(), clientId: z.string(), clientSecretSet: z.boolean() }).nullable(),
  saml: z
    .object({
      idpEntityId: z.string(),
      ssoUrl: z.string(),
      certificates: z.array(z.object({ fingerprint256: z.string(), notAfter: IsoDate, subject: z.string() })),
      spEntityId: z.string(),
      spMetadataUrl: z.string().describe('Our service provider metadata, for the identity provider'),
      acsUrl: z.string().describe('Our Assertion Consumer Service (HTTP-POST binding)'),
    })
    .nullable(),
  callbackUrl: z.string().nullable().describe('OIDC: the redirect URI to register with the provider'),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});

export const SsoSettingsOutput = z.object({ connections: z.array(ConnectionOutput) });
export type SsoSettings = z.output<typeof SsoSettingsOutput>;

export function domainOutput(domain: Pick<SsoDomain, 'domain' | 'verifiedAt' | 'verificationToken'>) {
  return {
    domain: domain.domain,
    verified: domain.verifiedAt !== null,
    verifiedAt: isoOrNull(domain.verifiedAt),
    verification: {
      type: 'TXT' as const,
      name: verificationRecordName(domain.domain),
      value: domain.verificationToken,
    },
  };
}

function connectionOutput(baseUrl: string, connection: SsoConnection, domains: SsoDomain[]) {
  const endpoints = serviceProviderEndpoints(baseUrl, connection.id);
  const oidc = connection.type === 'oidc';
  return {
    id: connection.id,
    name: connection.name,
    type: connection.type,
    defaultRole: connection.defaultRole,
    required: connection.required,
    allowIdpInitiated: connection.allowIdpInitiated,
    domains: domains.filter((d) => d.connectionId === connection.id).map(domainOutput),
    oidc: oidc
      ? {
          issuer: connection.oidcIssuer ?? '',
          clientId: connection.oidcClientId ?? '',
          clientSecretSet: connection.oidcClientSecret !== null,
        }
      : null,
    saml: oidc
      ? null
      : {
          idpEntityId: connection.samlIdpEntityId ?? '',
          ssoUrl: connection.samlSsoUrl ?? '',
          certificates: connection.samlCertificates.map(certificateSummary),
          spEntityId: endpoints.spEntityId,
          spMetadataUrl: endpoints.spMetadataUrl,
          acsUrl: endpoints.acsUrl,
        },
    callbackUrl: oidc ? endpoints.callbackUrl : null,
    createdAt: iso(connection.createdAt),
    updatedAt: iso(connection.updatedAt),
  };
}

/** The organization's connections and domains, oldest connection first, domains by name. */
export async function loadSsoSettings(
  em: EntityManager,
  organizationId: string,
): Promise<{ connections: SsoConnection[]; domains: SsoDomain[] }> {
  const connections = await em.find(
    SsoConnectionSchema,
    { organizationId },
    { orderBy: { createdAt: 'asc', id: 'asc' } },
  );
  const domains = await em.find(SsoDomainSchema, { organizationId }, { orderBy: { domain: 'asc' } });
  return { connections, domains };
}

export function ssoSettingsOutput(
  baseUrl: string,
  { connections, domains }: { connections: SsoConnection[]; domains: SsoDomain[] },
): SsoSettings {
  return { connections: connections.map((connection) => connectionOutput(baseUrl, connection, domains)) };
}
