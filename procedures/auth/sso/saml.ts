/**
 * SAML 2.0 for an SSO connection, with @node-saml/node-saml as the service provider.
 *
 * What a response must be to sign anyone in (anything else is FEDERATION_FAILED with `meta.reason`,
 * or INVALID_FEDERATION_STATE for the flow):
 * - its assertion signed by one of the connection's certificates (wantAssertionsSigned; a signed
 *   response around an unsigned assertion is not enough), exactly one assertion, verified as the
 *   library documents against signature wrapping (only what the signature covers is read):
 *   signature-invalid, assertion-unsigned;
 * - issued by the connection's IdP entity id (issuer-mismatch), for our SP entity id as audience
 *   (audience-mismatch), to our ACS URL as the bearer confirmation's Recipient (recipient-mismatch),
 *   within NotBefore/NotOnOrAfter give or take 30 seconds (assertion-expired, assertion-not-yet-valid);
 * - an answer to an AuthnRequest of ours: its InResponseTo names a flow started here for this
 *   connection, used once within 10 minutes (procedures/auth/federated/state.ts; node-saml asks for it
 *   through the cache provider below, before anything else is checked, so a failed answer burns it);
 *   the signed confirmation's InResponseTo must agree (in-response-to-mismatch). A response that
 *   answers nothing (IdP-initiated) is refused unless the connection allows it (idp-initiated);
 * - its assertion id not seen before for this connection while it is valid (assertion-replayed);
 * - anything unreadable (not base64, not XML, no assertion, a logout message) is invalid-response,
 *   more than 2,000 elements is response-too-large (counted before parsing), and the IdP's own refusal
 *   (a non-success status) is idp-refused.
 */
import { randomBytes } from 'node:crypto';
import {
  generateServiceProviderMetadata,
  SAML,
  SamlStatusError,
  ValidateInResponseTo,
  type CacheProvider,
  type Profile,
} from '@node-saml/node-saml';
import type { SsoConnection } from '../../../entities/sso.js';
import type { Config } from '../../../server/config.js';
import type { Context } from '../../../server/context.js';
import { ApiError } from '../../../server/errors.js';
import { trustedCallback } from '../callback-url.js';
import { completeFederatedSignIn, federationError, type FederatedAttempt } from '../federated/complete.js';
import {
  beginFederatedFlow,
  consumeFederatedFlow,
  FEDERATED_STATE_TTL_MS,
  type ConsumedFlow,
} from '../federated/state.js';
import { ssoUrls } from '../../../server/sso-urls.js';
import { parseXml, xmlChildren } from '../../../server/xml.js';
import { emailOnVerifiedDomain, ssoProvider } from './connection.js';

const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const TRANSIENT_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const CLOCK_SKEW_MS = 30_000;

function samlFor(
  config: Pick<Config, 'baseUrl'>,
  connection: SsoConnection,
  options: { requestId?: string; cacheProvider?: CacheProvider } = {},
): SAML {
  const urls = ssoUrls(config.baseUrl, connection.id);
  return new SAML({
    entryPoint: connection.samlSsoUrl ?? undefined,
    issuer: urls.metadata,
    audience: urls.metadata,
    callbackUrl: urls.acs,
    idpCert: connection.samlCertificates,
    idpIssuer: connection.samlIdpEntityId ?? undefined,
    identifierFormat: EMAIL_FORMAT,
    wantAssertionsSigned: true,
    // Most identity providers sign the assertion only; the assertion's signature is what is required.
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: CLOCK_SKEW_MS,
    validateInResponseTo: ValidateInResponseTo.ifPresent,
    requestIdExpirationPeriodMs: FEDERATED_STATE_TTL_MS,
    disableRequestedAuthnContext: true,
    ...(options.cacheProvider ? { cacheProvider: options.cacheProvider } : {}),
    ...(options.requestId ? { generateUniqueId: () => options.requestId! } : {}),
  });
}

/** Our SP metadata for the connection's IdP admin: entity id, ACS (HTTP-POST), signed assertions wanted. */
export function serviceProviderMetadata(config: Pick<Config, 'baseUrl'>, connection: SsoConnection): string {
  const urls = ssoUrls(config.baseUrl, connection.id);
  return generateServiceProviderMetadata({
    issuer: urls.metadata,
    callbackUrl: urls.acs,
    identifierFormat: EMAIL_FORMAT,
    wantAssertionsSigned: true,
    // The document's ID is the connection's, so the same connection always serves the same bytes.
    generateUniqueId: () => `_${connection.id}`,
  });
}

/** Starts SP-initiated sign-in: the IdP's SSO URL with a deflated AuthnRequest and RelayState = state. */
export async function startSaml(ctx: Context, connection: SsoConnection, callbackUrl: string | undefined) {
  if (!connection.samlSsoUrl || connection.samlCertificates.length === 0) {
    throw federationError(
      'BAD_REQUEST',
      'connection-incomplete',
      'This SAML connection has no SSO URL or signing certificate yet; an organization admin must finish setting it up',
    );
  }
  // An xs:ID: it must not start with a digit.
  const requestId = `_${randomBytes(20).toString('hex')}`;
  const state = await beginFederatedFlow(ctx, {
    kind: 'sso',
    provider: ssoProvider(connection.id),
    connectionId: connection.id,
    callbackUrl,
    samlRequestId: requestId,
  });
  const saml = samlFor(ctx.services.config, connection, { requestId });
  return { location: await saml.getAuthorizeUrlAsync(state, undefined, {}) };
}

/** Finishes a sign-in with a response posted to the ACS (see the file's comment for what is checked). */
export async function finishSaml(
  ctx: Context,
  connection: SsoConnection,
  attempt: FederatedAttempt,
  form: { SAMLResponse: string; RelayState?: string },
): Promise<{ location: string }> {
  const provider = ssoProvider(connection.id);
  const urls = ssoUrls(ctx.services.config.baseUrl, connection.id);
  let flow: ConsumedFlow | undefined;
  // node-saml asks for the response's InResponseTo here: the flow it names is used up at the first ask.
  const cacheProvider: CacheProvider = {
    async getAsync(requestId) {
      flow ??= await consumeFederatedFlow(ctx, provider, { samlRequestId: requestId });
      return flow.samlRequestId === requestId ? new Date().toISOString() : null;
    },
    saveAsync: async () => null,
    removeAsync: async () => null,
  };
  if (tooManyElements(form.SAMLResponse)) {
    throw failed('response-too-large', 'The SAML response holds more elements than any identity provider sends');
  }
  // node-saml reads the response's status only when it carries no assertion: an IdP's refusal is one
  // whatever it holds.
  if (refusedByIdp(form.SAMLResponse)) throw failed('idp-refused', 'The identity provider did not sign the user in');
  let profile: Profile | null;
  try {
    ({ profile } = await samlFor(ctx.services.config, connection, { cacheProvider }).validatePostResponseAsync({
      SAMLResponse: form.SAMLResponse,
    }));
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw samlFailure(error, form.SAMLResponse);
  }
  if (!profile) throw failed('invalid-response', 'The SAML response carries no assertion');
  const assertion = readAssertion(profile);
  if (profile.issuer !== connection.samlIdpEntityId) {
    throw failed('issuer-mismatch', 'The assertion was issued by another identity provider than this connection’s');
  }
  const confirmation = assertion.confirmations.find((c) => c.Recipient === urls.acs);
  if (!confirmation) throw failed('recipient-mismatch', 'The assertion is not addressed to this connection’s ACS URL');
  // node-saml checks the confirmation's window only for answers with an InResponseTo: checked here for all.
  const expiry = Date.parse(confirmation.NotOnOrAfter ?? '');
  if (Number.isFinite(expiry) && Date.now() - CLOCK_SKEW_MS >= expiry) {
    throw failed('assertion-expired', 'The assertion has expired');
  }
  if (flow) {
    if (confirmation.InResponseTo && confirmation.InResponseTo !== flow.samlRequestId) {
      throw failed('in-response-to-mismatch', 'The assertion answers another sign-in request than the response');
    }
  } else if (confirmation.InResponseTo) {
    // The (unsigned) response lost its InResponseTo: the signed assertion still says what it answers.
    flow = await consumeFederatedFlow(ctx, provider, { samlRequestId: confirmation.InResponseTo });
  } else if (!connection.allowIdpInitiated) {
    throw failed(
      'idp-initiated',
      'This connection accepts only sign-ins started here, not ones the identity provider sends unasked',
    );
  }
  const email = assertedEmail(profile);
  if (!email) throw failed('email-missing', 'The assertion carries no email address (NameID or the email attribute)');
  attempt.email = email.trim().toLowerCase().slice(0, 254);
  const verifiedEmail = await emailOnVerifiedDomain(ctx, connection, email);
  await rememberAssertion(ctx, connection, assertion);
  const callbackUrl = flow ? flow.callbackUrl : (trustedCallback(ctx.services.config, form.RelayState)?.href ?? null);
  return completeFederatedSignIn(
    ctx,
    attempt,
    {
      method: 'sso',
      provider,
      subject: profile.nameIDFormat === TRANSIENT_FORMAT || !profile.nameID ? verifiedEmail : profile.nameID,
      email: verifiedEmail,
      emailVerified: true,
      name: displayName(profile),
      connection: { id: connection.id, organizationId: connection.organizationId, defaultRole: connection.defaultRole },
    },
    callbackUrl,
  );
}

const failed = (reason: string, message: string) => federationError('FEDERATION_FAILED', reason, message);

/** node-saml's refusals, by their message, as reasons. */
function samlFailure(error: unknown, samlResponse: string): ApiError {
  if (error instanceof SamlStatusError) {
    return failed('idp-refused', 'The identity provider did not sign the user in');
  }
  const message = error instanceof Error ? error.message : '';
  if (/No response found|Unknown SAML|Missing SAML|valid XML|multiple conditions/i.test(message)) {
    return failed('invalid-response', 'The SAML response could not be read');
  }
  if (
    /signature|transforms|signed references|ID cannot refer|Referenced node|ref URI|obtain assertion/i.test(message)
  ) {
    return assertionUnsigned(samlResponse)
      ? failed('assertion-unsigned', 'The assertion is not signed; this connection requires signed assertions')
      : failed('signature-invalid', 'The assertion’s signature does not verify with this connection’s certificates');
  }
  if (/audience/i.test(message))
    return failed('audience-mismatch', 'The assertion is meant for another service provider');
  if (/not yet valid/i.test(message)) return failed('assertion-not-yet-valid', 'The assertion is not valid yet');
  if (/expired|subject confirmation/i.test(message)) return failed('assertion-expired', 'The assertion has expired');
  if (/InResponseTo/i.test(message)) {
    return failed('in-response-to-mismatch', 'The assertion answers another sign-in request than the response');
  }
  return failed('invalid-response', 'The SAML response could not be read');
}

const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** Whether the response's top-level status says the sign-in failed (an unreadable one is node-saml's to refuse). */
function refusedByIdp(samlResponse: string): boolean {
  const parsed = parseXml(Buffer.from(samlResponse, 'base64').toString('utf8'));
  if ('refused' in parsed) return false;
  const [status] = xmlChildren(parsed.root, PROTOCOL, 'Status');
  const [code] = status ? xmlChildren(status, PROTOCOL, 'StatusCode') : [];
  return code !== undefined && code.getAttribute('Value') !== SUCCESS;
}

/**
 * Beyond any real response (a few dozen elements, a few hundred with many group values). node-saml's
 * XPath work grows with the square of the element count: 20,000 sibling elements hold the event loop
 * for seconds, so a response is counted before it is parsed.
 */
const MAX_ELEMENTS = 2_000;

function tooManyElements(samlResponse: string): boolean {
  let elements = 0;
  for (const _ of Buffer.from(samlResponse, 'base64')
    .toString('utf8')
    .matchAll(/<[A-Za-z_]/g)) {
    if (++elements > MAX_ELEMENTS) return true;
  }
  return false;
}

/**
 * Whether the response's assertion carries no signature at all, as opposed to a wrong one. Only the
 * reason shown depends on this: the refusal itself was decided by node-saml.
 */
function assertionUnsigned(samlResponse: string): boolean {
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  const assertion = /<(?:[\w.-]+:)?Assertion[\s>][\s\S]*?<\/(?:[\w.-]+:)?Assertion>/.exec(xml)?.[0];
  return assertion !== undefined && !/<(?:[\w.-]+:)?Signature[\s>]/.test(assertion);
}

interface SignedAssertion {
  id: string;
  /** The latest NotOnOrAfter in it: how long its id must be remembered. */
  validUntil: Date | null;
  confirmations: { Recipient?: string; InResponseTo?: string; NotOnOrAfter?: string }[];
}

type XmlNode = { $?: Record<string, string>; [child: string]: unknown };
const children = (node: XmlNode | undefined, name: string): XmlNode[] =>
  Array.isArray(node?.[name]) ? (node[name] as XmlNode[]) : [];

/** What is read from the signed assertion (xml2js form, as node-saml parsed the verified XML). */
function readAssertion(profile: Profile): SignedAssertion {
  const assertion = (profile.getAssertion?.() as { Assertion?: XmlNode } | undefined)?.Assertion;
  const id = assertion?.$?.ID;
  if (!assertion || !id) throw failed('invalid-response', 'The assertion has no ID');
  const confirmationData = children(assertion, 'Subject')
    .flatMap((subject) => children(subject, 'SubjectConfirmation'))
    .flatMap((confirmation) => children(confirmation, 'SubjectConfirmationData'))
    .map((data) => data.$ ?? {});
  const limits = [...children(assertion, 'Conditions').map((c) => c.$ ?? {}), ...confirmationData]
    .map((attributes) => Date.parse(attributes.NotOnOrAfter ?? ''))
    .filter((ms) => Number.isFinite(ms));
  return {
    id: id.slice(0, 255),
    validUntil: limits.length > 0 ? new Date(Math.max(...limits)) : null,
    confirmations: confirmationData,
  };
}

/** Records the assertion id until the assertion expires; a second use of it is assertion-replayed. */
async function rememberAssertion(ctx: Context, connection: SsoConnection, assertion: SignedAssertion) {
  const now = ctx.services.now();
  const floor = now.getTime() + FEDERATED_STATE_TTL_MS;
  const expiresAt = new Date(Math.max(floor, (assertion.validUntil?.getTime() ?? 0) + CLOCK_SKEW_MS));
  const connectionSql = ctx.em.getConnection();
  await connectionSql.execute('delete from saml_assertions where connection_id = ? and expires_at < ?', [
    connection.id,
    now,
  ]);
  const inserted = await connectionSql.execute<{ assertion_id: string }[]>(
    `insert into saml_assertions (connection_id, assertion_id, expires_at) values (?, ?, ?)
      on conflict do nothing returning assertion_id`,
    [connection.id, assertion.id, expiresAt],
  );
  if (inserted.length === 0) throw failed('assertion-replayed', 'This assertion was already used to sign in');
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

function assertedEmail(profile: Profile): string | null {
  const candidates = [profile.nameIDFormat === EMAIL_FORMAT ? profile.nameID : undefined, profile.email];
  const email = candidates.find((value): value is string => typeof value === 'string' && EMAIL.test(value.trim()));
  return email && email.length <= 254 ? email : null;
}

function displayName(profile: Profile): string | null {
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
  const given = text(profile.givenName);
  const family = text(profile.surname) ?? text(profile.sn);
  return text(profile.displayName) ?? text(profile.name) ?? ([given, family].filter(Boolean).join(' ') || null);
}
