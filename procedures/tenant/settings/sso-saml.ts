/**
 * A SAML identity provider as an organization describes it: its metadata XML, or its entity id, SSO
 * URL and signing certificates given one by one.
 *
 * - Metadata must hold exactly one EntityDescriptor with an IDPSSODescriptor; its entityID, the
 *   HTTP-Redirect SingleSignOnService (the binding our AuthnRequests use) and its signing
 *   certificates (KeyDescriptors with use="signing" or no use) are read; nothing else is trusted.
 * - A document type declaration is refused before parsing (server/xml.ts): no entity is expanded.
 * - Every certificate must parse as X.509 (node:crypto) and be within its validity period; it is
 *   stored as PEM and shown by its SHA-256 fingerprint, expiry and subject, never echoed back.
 */
import { X509Certificate } from 'node:crypto';
import { parseXml, xmlChildren as children } from '../../../server/xml.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export const MAX_CERTIFICATES = 5;

/** A problem with one input field, for the VALIDATION_ERROR that names it. */
export class FieldProblem extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export interface IdentityProvider {
  entityId: string;
  ssoUrl: string;
  /** PEM, as node:crypto writes them. */
  certificates: string[];
}

export interface CertificateSummary {
  fingerprint256: string;
  notAfter: string;
  subject: string;
}

/** A stored certificate as the settings show it. */
export function certificateSummary(pem: string): CertificateSummary {
  const certificate = new X509Certificate(pem);
  return {
    fingerprint256: certificate.fingerprint256,
    notAfter: new Date(certificate.validTo).toISOString(),
    subject: certificate.subject.replaceAll('\n', ', '),
  };
}

/** The PEM of a certificate given as PEM (or as the base64 DER metadata holds); throws a FieldProblem. */
export function parseCertificate(value: string, field: string, now: Date): string {
  const text = value.trim();
  const pem = text.startsWith('-----BEGIN')
    ? text
    : `-----BEGIN CERTIFICATE-----\n${text.replace(/\s+/g, '')}\n-----END CERTIFICATE-----`;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw new FieldProblem(field, 'Must be an X.509 certificate in PEM (-----BEGIN CERTIFICATE-----)');
  }
  if (new Date(certificate.validTo).getTime() <= now.getTime()) {
    throw new FieldProblem(field, `The certificate expired on ${new Date(certificate.validTo).toISOString()}`);
  }
  return certificate.toString();
}

/** The identity provider an IdP metadata document describes; throws a FieldProblem naming `field`. */
export function parseIdpMetadata(xml: string, field: string, now: Date): IdentityProvider {
  const parsed = parseXml(xml);
  if ('refused' in parsed) {
    throw new FieldProblem(
      field,
      parsed.refused === 'doctype' ? 'Must not contain a document type declaration' : 'Must be well-formed XML',
    );
  }
  const root = parsed.root;
  const entities =
    root.namespaceURI === MD && root.localName === 'EntityDescriptor'
      ? [root]
      : root.namespaceURI === MD && root.localName === 'EntitiesDescriptor'
        ? children(root, MD, 'EntityDescriptor')
        : [];
  const idps = entities.flatMap((entity) =>
    children(entity, MD, 'IDPSSODescriptor').map((descriptor) => ({ entity, descriptor })),
  );
  if (idps.length !== 1) {
    throw new FieldProblem(
      field,
      'Must be SAML 2.0 metadata describing exactly one identity provider (IDPSSODescriptor)',
    );
  }
  const { entity, descriptor } = idps[0]!;
  const entityId = entity.getAttribute('entityID')?.trim();
  if (!entityId) throw new FieldProblem(field, 'The EntityDescriptor has no entityID');
  const ssoUrl = children(descriptor, MD, 'SingleSignOnService')
    .find((service) => service.getAttribute('Binding') === REDIRECT_BINDING)
    ?.getAttribute('Location')
    ?.trim();
  if (!ssoUrl)
    throw new FieldProblem(field, 'The identity provider has no SingleSignOnService with the HTTP-Redirect binding');
  const certificates = children(descriptor, MD, 'KeyDescriptor')
    .filter((key) => (key.getAttribute('use') ?? 'signing') === 'signing')
    .flatMap((key) => children(key, DS, 'KeyInfo'))
    .flatMap((info) => children(info, DS, 'X509Data'))
    .flatMap((data) => children(data, DS, 'X509Certificate'))
    .map((node) => parseCertificate(node.textContent ?? '', field, now));
  if (certificates.length === 0) throw new FieldProblem(field, 'The identity provider lists no signing certificate');
  if (certificates.length > MAX_CERTIFICATES) {
    throw new FieldProblem(field, `The identity provider lists more than ${MAX_CERTIFICATES} signing certificates`);
  }
  return { entityId, ssoUrl, certificates: [...new Set(certificates)] };
}
