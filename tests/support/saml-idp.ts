/**
 * A real SAML 2.0 identity provider for the SSO tests: samlify in IdP mode on a loopback port, signing
 * with an RSA key and a self-signed X.509 certificate made at test time (node:crypto has no certificate
 * builder, so the few DER structures of one are written below and signed with node:crypto).
 *
 * - It reads the AuthnRequest from the redirect URL our sign-in answered with (samlify parses it),
 *   fetches our SP metadata from the request's Issuer (the metadata URL is our entity id), and answers
 *   with a signed response for the SP's ACS, InResponseTo the request.
 * - A test can bend any part of the answer to play a misbehaving or hostile IdP: issuer, audience,
 *   recipient, validity window, assertion id, InResponseTo, an unsigned assertion, another key.
 * - `GET /sso` is the IdP's page for a browser: it signs in the user the test chose and posts the
 *   response to the ACS with a self-submitting form, as real IdPs do.
 * - samlify wants an XML schema validator set before it parses anything; this IdP only parses our
 *   AuthnRequests, so a permissive validator is set (the SP side, node-saml, needs none).
 */
import { createRequire } from 'node:module';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// samlify is loaded without its type declarations: they import @xmldom/xmldom's, which pull the browser
// DOM library into the whole program (and with it a Headers type that shadows Node's). The part used:
interface SamlifyEntityMeta {
  getAssertionConsumerService(binding: string): unknown;
  getEntityID(): string;
}
interface SamlifyServiceProvider {
  entityMeta: SamlifyEntityMeta;
}
interface SamlifyIdentityProvider {
  getMetadata(): string;
  createLoginResponse(
    sp: SamlifyServiceProvider,
    request: never,
    binding: string,
    user: Record<string, string>,
    options: { relayState?: string; customTagReplacement: (template: string) => { id: string; context: string } },
  ): Promise<unknown>;
  parseLoginRequest(
    sp: SamlifyServiceProvider,
    binding: string,
    request: never,
  ): Promise<{ extract: { request?: { id?: unknown }; issuer?: unknown } }>;
}
const samlify = createRequire(import.meta.url)('samlify') as {
  setSchemaValidator(validator: { validate: (xml: string) => Promise<string> }): void;
  IdentityProvider(options: Record<string, unknown>): SamlifyIdentityProvider;
  ServiceProvider(options: Record<string, unknown>): SamlifyServiceProvider;
  Constants: { namespace: { binding: { redirect: string } } };
};

samlify.setSchemaValidator({ validate: async () => 'skipped: test IdP' });

export interface TestKeyPair {
  privateKeyPem: string;
  certificatePem: string;
}

/** An RSA key and a self-signed certificate for it, valid from an hour ago for a day. */
export function generateSigningCertificate(commonName = 'test-idp'): TestKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sha256WithRsa = seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));
  const name = seq(set(seq(oid('2.5.4.3'), der(0x0c, Buffer.from(commonName)))));
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const tbs = seq(
    der(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    sha256WithRsa,
    name,
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = seq(tbs, sha256WithRsa, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: pem('CERTIFICATE', certificate),
  };
}

function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  let length: Buffer;
  if (body.length < 0x80) length = Buffer.from([body.length]);
  else {
    const bytes: number[] = [];
    for (let n = body.length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, body]);
}
const seq = (...parts: Buffer[]) => der(0x30, ...parts);
const set = (...parts: Buffer[]) => der(0x31, ...parts);
const integer = (value: Buffer) => der(0x02, value[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [first! * 40 + second!];
  for (const n of rest) {
    const group: number[] = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) group.unshift((v & 0x7f) | 0x80);
    bytes.push(...group);
  }
  return der(0x06, Buffer.from(bytes));
}
function utcTime(date: Date): Buffer {
  // YYMMDDHHMMSSZ
  return der(0x17, Buffer.from(`${date.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`));
}
function pem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export interface SamlUser {
  email: string;
  name?: string;
  /** The NameID; the email by default (emailAddress format). */
  nameId?: string;
  nameIdFormat?: string;
}

/** How to bend the answer; each field left out is what a well-behaved IdP sends. */
export interface ResponseOptions {
  issuer?: string;
  audience?: string;
  recipient?: string;
  /** The response's and the confirmation's InResponseTo; null leaves both out (IdP-initiated). */
  inResponseTo?: string | null;
  assertionId?: string;
  notBefore?: Date;
  notOnOrAfter?: Date;
  /** The bearer confirmation's NotOnOrAfter, when it is to differ from the conditions'. */
  confirmationNotOnOrAfter?: Date;
  /** false: the assertion goes unsigned (the response around it is signed instead). */
  signAssertion?: boolean;
  /** Sign with this key (its certificate is not the one the connection trusts). */
  signingKey?: TestKeyPair;
  relayState?: string;
  /** The response's top-level status code (default Success), as an IdP reports a sign-in it refused. */
  statusCode?: string;
}

export interface SamlAnswer {
  /** Where the response is posted: the SP's ACS. */
  acs: string;
  SAMLResponse: string;
  RelayState?: string;
  assertionId: string;
}

export interface SamlIdp {
  entityId: string;
  ssoUrl: string;
  keys: TestKeyPair;
  /** The IdP's own metadata (entity id, SSO URL for the redirect binding, signing certificate), as samlify writes it. */
  metadata(): string;
  /** Answers the AuthnRequest in `authnRequestUrl` (the Location our sign-in redirected to). */
  answer(authnRequestUrl: string, user: SamlUser, options?: ResponseOptions): Promise<SamlAnswer>;
  /** An unasked response (IdP-initiated) for the SP whose metadata is at `spMetadataUrl`. */
  unsolicited(spMetadataUrl: string, user: SamlUser, options?: ResponseOptions): Promise<SamlAnswer>;
  /** The user the browser page signs in. */
  signInAs(user: SamlUser): void;
  close(): Promise<void>;
}

const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

/**
 * `host` names the IdP in its URLs (default 127.0.0.1; `localhost` puts its pages on another site than an
 * app on 127.0.0.1, as a real IdP is); it listens on 127.0.0.1 either way.
 */
export async function startSamlIdp(options: { keys?: TestKeyPair; host?: string } = {}): Promise<SamlIdp> {
  const keys = options.keys ?? generateSigningCertificate();
  let browserUser: SamlUser | undefined;
  let idpFor: ((key: TestKeyPair) => SamlifyIdentityProvider) | undefined;

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    if (url.pathname !== '/sso' || !browserUser) return void res.writeHead(404).end();
    api
      .answer(url.href, browserUser)
      .then((answer) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          `<!doctype html><title>Test IdP</title><form method="post" action="${xmlEscape(answer.acs)}">` +
            `<input type="hidden" name="SAMLResponse" value="${xmlEscape(answer.SAMLResponse)}">` +
            (answer.RelayState
              ? `<input type="hidden" name="RelayState" value="${xmlEscape(answer.RelayState)}">`
              : '') +
            '<button>Continue</button></form><script>document.forms[0].submit()</script>',
        );
      })
      .catch((error: unknown) => res.writeHead(400).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://${options.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const entityId = `${base}/metadata`;
  const ssoUrl = `${base}/sso`;

  idpFor = (key) =>
    samlify.IdentityProvider({
      entityID: entityId,
      privateKey: key.privateKeyPem,
      signingCert: key.certificatePem,
      nameIDFormat: [EMAIL_FORMAT],
      singleSignOnService: [{ Binding: samlify.Constants.namespace.binding.redirect, Location: ssoUrl }],
      wantAuthnRequestsSigned: false,
    });

  async function serviceProvider(metadataUrl: string, signAssertion: boolean) {
    const response = await fetch(metadataUrl);
    if (!response.ok) throw new Error(`SP metadata at ${metadataUrl}: ${response.status}`);
    let metadata = await response.text();
    if (!signAssertion) metadata = metadata.replace('WantAssertionsSigned="true"', 'WantAssertionsSigned="false"');
    return samlify.ServiceProvider({ metadata });
  }

  async function respond(
    sp: SamlifyServiceProvider,
    user: SamlUser,
    inResponseTo: string | null,
    relayState: string | undefined,
    bent: ResponseOptions,
  ): Promise<SamlAnswer> {
    const idp = idpFor!(bent.signingKey ?? keys);
    const acs = sp.entityMeta.getAssertionConsumerService('post') as string;
    const now = new Date();
    const assertionId = bent.assertionId ?? `_a${randomBytes(16).toString('hex')}`;
    const responseId = `_r${randomBytes(16).toString('hex')}`;
    const values = {
      issuer: bent.issuer ?? entityId,
      audience: bent.audience ?? sp.entityMeta.getEntityID(),
      recipient: bent.recipient ?? acs,
      notBefore: (bent.notBefore ?? new Date(now.getTime() - 1000)).toISOString(),
      notOnOrAfter: (bent.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000)).toISOString(),
      instant: now.toISOString(),
      confirmationNotOnOrAfter: (
        bent.confirmationNotOnOrAfter ??
        bent.notOnOrAfter ??
        new Date(now.getTime() + 5 * 60_000)
      ).toISOString(),
    };
    const answers = inResponseTo ? ` InResponseTo="${xmlEscape(inResponseTo)}"` : '';
    const attribute = (name: string, value: string) =>
      `<saml:Attribute Name="${name}"><saml:AttributeValue>${xmlEscape(value)}</saml:AttributeValue></saml:Attribute>`;
    const xml =
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${responseId}" Version="2.0" IssueInstant="${values.instant}" Destination="${xmlEscape(acs)}"${answers}>` +
      `<saml:Issuer>${xmlEscape(values.issuer)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="${xmlEscape(bent.statusCode ?? 'urn:oasis:names:tc:SAML:2.0:status:Success')}"/></samlp:Status>` +
      `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${xmlEscape(assertionId)}" Version="2.0" IssueInstant="${values.instant}">` +
      `<saml:Issuer>${xmlEscape(values.issuer)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="${xmlEscape(user.nameIdFormat ?? EMAIL_FORMAT)}">${xmlEscape(user.nameId ?? user.email)}</saml:NameID>` +
      '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">' +
      `<saml:SubjectConfirmationData NotOnOrAfter="${values.confirmationNotOnOrAfter}" Recipient="${xmlEscape(values.recipient)}"${answers}/>` +
      '</saml:SubjectConfirmation></saml:Subject>' +
      `<saml:Conditions NotBefore="${values.notBefore}" NotOnOrAfter="${values.notOnOrAfter}">` +
      `<saml:AudienceRestriction><saml:Audience>${xmlEscape(values.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${values.instant}" SessionIndex="${responseId}"><saml:AuthnContext>` +
      '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>' +
      '</saml:AuthnContext></saml:AuthnStatement>' +
      `<saml:AttributeStatement>${attribute('email', user.email)}${user.name ? attribute('displayName', user.name) : ''}</saml:AttributeStatement>` +
      '</saml:Assertion></samlp:Response>';
    const context = (await idp.createLoginResponse(
      sp,
      {} as never,
      'post',
      { email: user.email },
      {
        relayState,
        customTagReplacement: () => ({ id: responseId, context: xml }),
      },
    )) as { context: string; relayState?: string };
    return { acs, SAMLResponse: context.context, RelayState: relayState, assertionId };
  }

  const api: SamlIdp = {
    entityId,
    ssoUrl,
    keys,
    metadata: () => idpFor!(keys).getMetadata(),
    async answer(authnRequestUrl, user, bent = {}) {
      const url = new URL(authnRequestUrl);
      const idp = idpFor!(keys);
      const query = Object.fromEntries(url.searchParams);
      // samlify reads the AuthnRequest; its Issuer is our SP entity id, where our metadata is served.
      const probe = samlify.ServiceProvider({ entityID: 'probe', assertionConsumerService: [] });
      const { extract } = await idp.parseLoginRequest(probe, 'redirect', { query, octetString: '' } as never);
      const requestId = String(extract.request?.id ?? '');
      const sp = await serviceProvider(String(extract.issuer), bent.signAssertion !== false);
      const inResponseTo = bent.inResponseTo === undefined ? requestId : bent.inResponseTo;
      return respond(sp, user, inResponseTo, bent.relayState ?? query.RelayState, bent);
    },
    async unsolicited(spMetadataUrl, user, bent = {}) {
      const sp = await serviceProvider(spMetadataUrl, bent.signAssertion !== false);
      return respond(sp, user, bent.inResponseTo ?? null, bent.relayState, bent);
    },
    signInAs(user) {
      browserUser = user;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return api;
}

/** A response with its signed content changed after signing: the NameID and email become `email`. */
export function tamperedResponse(samlResponse: string, from: string, to: string): string {
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  return Buffer.from(xml.replaceAll(from, to)).toString('base64');
}

function xmlEscape(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
