/**
 * What a PUT of the SSO settings asks for, checked against what exists, before anything is written.
 *
 * - The document is declarative: connections with an `id` are updated, without one created, the
 *   rest deleted. A connection keeps its type; at most MAX_CONNECTIONS, each with at most
 *   MAX_DOMAINS_PER_CONNECTION domains, and a domain on one connection only.
 * - OIDC: issuer and client id; the client secret is required on create and kept when left out.
 * - SAML: either the IdP metadata XML, or entity id, SSO URL and certificates (kept when left out on
 *   an update); see sso-saml.ts.
 * - Identity provider URLs are https, unless SSO_ALLOW_HTTP; no credentials in them.
 * - Every problem is collected into one VALIDATION_ERROR naming each field; nothing here throws
 *   anything else.
 */
import { z } from 'zod';
import type { SsoConnection } from '../../../entities/sso.js';
import { ApiError, validationMessage, type FieldError } from '../../../server/errors.js';
import { ULID_PATTERN } from '../../../server/ids.js';
import { MAX_CONNECTIONS, MAX_DOMAINS_PER_CONNECTION, SsoDomainName } from './sso.js';
import { FieldProblem, MAX_CERTIFICATES, parseCertificate, parseIdpMetadata } from './sso-saml.js';

/** A literal, not z.boolean(): the REST adapter coerces booleans as Boolean(v), so "false" would be true. */
const Flag = z.literal([true, false], 'Must be true or false');
const Url = z.string().trim().min(1, 'Must not be empty').max(2048, 'Must be at most 2048 characters');

const ConnectionInput = z.strictObject({
  id: z.string().regex(ULID_PATTERN, 'Must be a connection id').optional().describe('Left out for a new connection'),
  name: z.string().trim().min(1, 'Must not be empty').max(100, 'Must be at most 100 characters'),
  type: z.enum(['oidc', 'saml']),
  defaultRole: z.enum(['admin', 'member']).default('member'),
  required: Flag.default(false),
  allowIdpInitiated: Flag.default(false),
  domains: z
    .array(SsoDomainName)
    .max(MAX_DOMAINS_PER_CONNECTION, `At most ${MAX_DOMAINS_PER_CONNECTION} domains per connection`)
    .default([]),
  oidc: z
    .strictObject({
      issuer: Url,
      clientId: z.string().trim().min(1, 'Must not be empty').max(255, 'Must be at most 255 characters'),
      clientSecret: z
        .string()
        .min(1, 'Must not be empty')
        .max(1024, 'Must be at most 1024 characters')
        .optional()
        .describe('Required for a new connection; kept when left out'),
    })
    .optional()
    .describe('OIDC connections: required for a new one, kept when left out'),
  saml: z
    .strictObject({
      idpMetadataXml: z
        .string()
        .max(512 * 1024, 'Must be at most 512 KiB')
        .optional()
        .describe('The identity provider’s metadata; or give idpEntityId, ssoUrl and certificates instead'),
      idpEntityId: z
        .string()
        .trim()
        .min(1, 'Must not be empty')
        .max(1024, 'Must be at most 1024 characters')
        .optional(),
      ssoUrl: Url.optional().describe('Its SingleSignOnService for the HTTP-Redirect binding'),
      certificates: z
        .array(z.string().max(16_384, 'Must be at most 16 KiB'))
        .min(1, 'At least one certificate')
        .max(MAX_CERTIFICATES, `At most ${MAX_CERTIFICATES} certificates`)
        .optional()
        .describe('Signing certificates in PEM; kept when left out of an update'),
    })
    .optional()
    .describe('SAML connections: required for a new one, kept when left out'),
});

export const SsoSettingsChange = z.strictObject({
  connections: z.array(ConnectionInput).max(MAX_CONNECTIONS, `At most ${MAX_CONNECTIONS} connections`),
});
type ConnectionChange = z.output<typeof ConnectionInput>;

/** The columns of a connection a PUT sets (the secret still in plain text). */
export interface ConnectionPlan {
  existing: SsoConnection | null;
  fields: Pick<
    SsoConnection,
    | 'name'
    | 'type'
    | 'defaultRole'
    | 'required'
    | 'allowIdpInitiated'
    | 'oidcIssuer'
    | 'oidcClientId'
    | 'samlIdpEntityId'
    | 'samlSsoUrl'
    | 'samlCertificates'
  >;
  /** A new client secret, to encrypt; null keeps the stored one. */
  clientSecret: string | null;
  domains: string[];
}

function providerUrl(value: string, field: string, allowHttp: boolean, issuer: boolean): string {
  if (value.length > 2048) throw new FieldProblem(field, 'The URL must be at most 2048 characters');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FieldProblem(field, 'Must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    throw new FieldProblem(field, allowHttp ? 'Must be an https or http URL' : 'Must be an https URL');
  }
  if (url.username || url.password) throw new FieldProblem(field, 'Must not hold a user name or password');
  if (issuer && (url.search || url.hash)) throw new FieldProblem(field, 'An issuer has no query or fragment');
  return value;
}

function oidcFields(change: ConnectionChange, existing: SsoConnection | null, at: string, allowHttp: boolean) {
  if (!change.oidc) {
    if (!existing) throw new FieldProblem(`${at}.oidc`, 'Required for a new OIDC connection');
    return { oidcIssuer: existing.oidcIssuer, oidcClientId: existing.oidcClientId, clientSecret: null };
  }
  if (!existing && change.oidc.clientSecret === undefined) {
    throw new FieldProblem(`${at}.oidc.clientSecret`, 'Required for a new connection');
  }
  return {
    oidcIssuer: providerUrl(change.oidc.issuer, `${at}.oidc.issuer`, allowHttp, true),
    oidcClientId: change.oidc.clientId,
    clientSecret: change.oidc.clientSecret ?? null,
  };
}

function samlFields(
  change: ConnectionChange,
  existing: SsoConnection | null,
  at: string,
  allowHttp: boolean,
  now: Date,
) {
  const saml = change.saml;
  if (!saml) {
    if (!existing) throw new FieldProblem(`${at}.saml`, 'Required for a new SAML connection');
    return {
      samlIdpEntityId: existing.samlIdpEntityId,
      samlSsoUrl: existing.samlSsoUrl,
      samlCertificates: existing.samlCertificates,
    };
  }
  if (saml.idpMetadataXml !== undefined) {
    if (saml.idpEntityId !== undefined || saml.ssoUrl !== undefined || saml.certificates !== undefined) {
      throw new FieldProblem(
        `${at}.saml.idpMetadataXml`,
        'Give either idpMetadataXml, or idpEntityId, ssoUrl and certificates, not both',
      );
    }
    const idp = parseIdpMetadata(saml.idpMetadataXml, `${at}.saml.idpMetadataXml`, now);
    if (idp.entityId.length > 1024)
      throw new FieldProblem(`${at}.saml.idpMetadataXml`, 'The entityID is over 1024 characters');
    return {
      samlIdpEntityId: idp.entityId,
      samlSsoUrl: providerUrl(idp.ssoUrl, `${at}.saml.idpMetadataXml`, allowHttp, false),
      samlCertificates: idp.certificates,
    };
  }
  if (saml.idpEntityId === undefined)
    throw new FieldProblem(`${at}.saml.idpEntityId`, 'Required without idpMetadataXml');
  if (saml.ssoUrl === undefined) throw new FieldProblem(`${at}.saml.ssoUrl`, 'Required without idpMetadataXml');
  if (!saml.certificates && !existing)
    throw new FieldProblem(`${at}.saml.certificates`, 'Required for a new connection');
  return {
    samlIdpEntityId: saml.idpEntityId,
    samlSsoUrl: providerUrl(saml.ssoUrl, `${at}.saml.ssoUrl`, allowHttp, false),
    samlCertificates: saml.certificates
      ? [...new Set(saml.certificates.map((pem, i) => parseCertificate(pem, `${at}.saml.certificates.${i}`, now)))]
      : (existing?.samlCertificates ?? []),
  };
}

function planConnection(
  change: ConnectionChange,
  existing: SsoConnection | null,
  at: string,
  options: { allowHttp: boolean; now: Date },
): ConnectionPlan {
  if (existing && existing.type !== change.type) {
    throw new FieldProblem(
      `${at}.type`,
      `This connection is ${existing.type}: a type cannot change; remove it and add a new one`,
    );
  }
  const oidc = change.type === 'oidc';
  if (oidc && change.saml) throw new FieldProblem(`${at}.saml`, 'Only for SAML connections');
  if (!oidc && change.oidc) throw new FieldProblem(`${at}.oidc`, 'Only for OIDC connections');
  if (oidc && change.allowIdpInitiated) {
    throw new FieldProblem(
      `${at}.allowIdpInitiated`,
      'Only SAML connections accept sign-ins the identity provider starts',
    );
  }
  const none = {
    oidcIssuer: null,
    oidcClientId: null,
    clientSecret: null,
    samlIdpEntityId: null,
    samlSsoUrl: null,
    samlCertificates: [],
  };
  const { clientSecret, ...protocol } = oidc
    ? { ...none, ...oidcFields(change, existing, at, options.allowHttp) }
    : { ...none, ...samlFields(change, existing, at, options.allowHttp, options.now) };
  return {
    existing,
    fields: {
      name: change.name,
      type: change.type,
      defaultRole: change.defaultRole,
      required: change.required,
      allowIdpInitiated: change.allowIdpInitiated,
      ...protocol,
    },
    clientSecret,
    domains: [...new Set(change.domains)],
  };
}

/**
 * Each connection of the PUT checked and resolved against the organization's `existing` ones (the
 * caller has already answered ids found in no connection of the organization); a VALIDATION_ERROR
 * naming every bad field otherwise.
 */
export function planSsoChanges(
  connections: ConnectionChange[],
  existing: Map<string, SsoConnection>,
  options: { allowHttp: boolean; now: Date },
): ConnectionPlan[] {
  const errors: FieldError[] = [];
  const problem = (field: string, error: string) => errors.push({ field, error, location: 'body' });
  const seenIds = new Set<string>();
  const domainOwner = new Map<string, number>();
  const plans = connections.flatMap((change, i) => {
    const at = `connections.${i}`;
    if (change.id !== undefined) {
      if (seenIds.has(change.id)) problem(`${at}.id`, 'This connection is listed twice');
      seenIds.add(change.id);
    }
    for (const [j, domain] of change.domains.entries()) {
      const owner = domainOwner.get(domain);
      if (owner !== undefined && owner !== i)
        problem(`${at}.domains.${j}`, `${domain} is listed on another connection`);
      domainOwner.set(domain, i);
    }
    try {
      return [planConnection(change, change.id === undefined ? null : (existing.get(change.id) ?? null), at, options)];
    } catch (error) {
      if (!(error instanceof FieldProblem)) throw error;
      problem(error.field, error.message);
      return [];
    }
  });
  if (errors.length > 0) throw new ApiError('VALIDATION_ERROR', validationMessage(errors), { errors });
  return plans;
}
