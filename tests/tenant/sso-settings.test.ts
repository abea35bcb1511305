/**
 * The organization's SSO settings over REST: GET and PUT /settings/sso (OIDC and SAML connections,
 * IdP metadata XML, the declarative update, validation of every field, secrets never shown, audit
 * entries) and domain verification against a real DNS server (dns2 on loopback) that the app asks
 * through DNS_SERVERS.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogSchema } from '../../entities/audit-log.js';
import { SsoConnectionSchema, SsoDomainSchema } from '../../entities/sso.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startDnsServer, type TestDnsServer } from '../support/dns-server.js';
import { asBrowser, signUp, type SignedUp } from '../support/identity.js';
import { selfSignedCertificate } from '../support/sso-settings.js';
import { defaultOrganizationId } from '../support/tenancy.js';

const DAY_MS = 86_400_000;
/** The service's clock: real time, moved forward by `offset` to expire a certificate. */
const clock = { offset: 0, now: () => new Date(Date.now() + clock.offset) };

let t: TestApp;
let dns: TestDnsServer;
const signingCertificate = selfSignedCertificate('idp-signing', 30);
const secondCertificate = selfSignedCertificate('idp-next', 60);
const encryptionCertificate = selfSignedCertificate('idp-encryption', 30);
const shortCertificate = selfSignedCertificate('idp-short', 1);

beforeAll(async () => {
  dns = await startDnsServer();
  t = await startTestApp({
    now: clock.now,
    env: {
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '1000',
      RATE_LIMIT_GLOBAL_POINTS: '100000',
      DNS_SERVERS: dns.address,
    },
  });
});
afterAll(async () => {
  await t?.close();
  await dns?.close();
});

const base64Of = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

function idpMetadata(options: {
  entityId?: string;
  redirect?: string | null;
  signing?: string[];
  wrap?: boolean;
}): string {
  const keys = (options.signing ?? [signingCertificate])
    .map(
      (pem) =>
        `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${base64Of(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    )
    .join('');
  const redirect =
    options.redirect === null
      ? ''
      : `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${options.redirect ?? 'https://idp.corp.example/saml/redirect'}"/>`;
  const entity = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${options.entityId ?? 'https://idp.corp.example/metadata'}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="false">
    ${keys}
    <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${base64Of(encryptionCertificate)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.corp.example/saml/post"/>
    ${redirect}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
  return options.wrap
    ? `<?xml version="1.0"?><md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">${entity.replace(/^<md:EntityDescriptor xmlns:md="[^"]+"/, '<md:EntityDescriptor')}</md:EntitiesDescriptor>`
    : `<?xml version="1.0" encoding="UTF-8"?>${entity}`;
}

const oidcConnection = (extra: Record<string, unknown> = {}) => ({
  name: 'Okta',
  type: 'oidc',
  domains: ['Corp.Example'],
  oidc: { issuer: 'https://corp.okta.example', clientId: 'client-123', clientSecret: 'oidc-client-secret-value' },
  ...extra,
});
const samlConnection = (extra: Record<string, unknown> = {}) => ({
  name: 'ADFS',
  type: 'saml',
  defaultRole: 'admin',
  allowIdpInitiated: true,
  domains: ['subsidiary.example'],
  saml: {
    idpEntityId: 'https://adfs.corp.example/trust',
    ssoUrl: 'https://adfs.corp.example/sso',
    certificates: [signingCertificate],
  },
  ...extra,
});

async function organization(): Promise<{ owner: SignedUp; id: string; path: string }> {
  const owner = await signUp(t);
  const id = await defaultOrganizationId(t, owner.userId);
  return { owner, id, path: `/api/user/organizations/${id}/settings/sso` };
}
const get = (path: string, owner: SignedUp) => t.request(path, { headers: asBrowser(owner.cookie) });
const put = (path: string, owner: SignedUp, body: unknown) =>
  t.request(path, { method: 'PUT', headers: asBrowser(owner.cookie), body: JSON.stringify(body) });
const verify = (path: string, owner: SignedUp, domain: string) =>
  t.request(`${path}/domains/${domain}/verify`, { method: 'POST', headers: asBrowser(owner.cookie) });
const ssoAudit = (organizationId: string) =>
  t.services.orm.em
    .fork()
    .find(AuditLogSchema, { organizationId, action: { $like: 'organization.sso%' } }, { orderBy: { id: 'asc' } });

describe('GET and PUT /settings/sso', () => {
  it('creates an OIDC and a SAML connection, shows what to give the IdP, and never a secret', async () => {
    const { owner, id, path } = await organization();
    expect((await get(path, owner)).body).toMatchObject({ status: 200, data: { connections: [] } });
    const res = await put(path, owner, { connections: [oidcConnection(), samlConnection()] });
    expect(res.body, JSON.stringify(res.body)).toMatchObject({
      status: 200,
      message: 'SSO settings updated successfully',
    });
    const [oidc, saml] = res.body.data.connections;
    const baseUrl = t.services.config.baseUrl.replace(/\/$/, '');
    expect(oidc).toMatchObject({
      name: 'Okta',
      type: 'oidc',
      defaultRole: 'member',
      required: false,
      allowIdpInitiated: false,
      oidc: { issuer: 'https://corp.okta.example', clientId: 'client-123', clientSecretSet: true },
      saml: null,
      callbackUrl: `${baseUrl}/api/auth/sso/${oidc.id}/callback`,
      domains: [
        {
          domain: 'corp.example',
          verified: false,
          verifiedAt: null,
          verification: { type: 'TXT', name: '_api-verification.corp.example', value: expect.any(String) },
        },
      ],
    });
    const certificate = new X509Certificate(signingCertificate);
    expect(saml).toMatchObject({
      type: 'saml',
      defaultRole: 'admin',
      allowIdpInitiated: true,
      oidc: null,
      callbackUrl: null,
      saml: {
        idpEntityId: 'https://adfs.corp.example/trust',
        ssoUrl: 'https://adfs.corp.example/sso',
        certificates: [
          {
            fingerprint256: certificate.fingerprint256,
            notAfter: new Date(certificate.validTo).toISOString(),
            subject: 'CN=idp-signing',
          },
        ],
        spEntityId: `${baseUrl}/api/auth/sso/${saml.id}/metadata`,
        spMetadataUrl: `${baseUrl}/api/auth/sso/${saml.id}/metadata`,
        acsUrl: `${baseUrl}/api/auth/sso/${saml.id}/acs`,
      },
    });
    expect(JSON.stringify(res.body)).not.toContain('oidc-client-secret-value');
    expect(JSON.stringify(res.body)).not.toContain(base64Of(signingCertificate).slice(0, 40));
    expect((await get(path, owner)).body.data).toEqual(res.body.data);

    const row = await t.services.orm.em.fork().findOneOrFail(SsoConnectionSchema, { id: oidc.id });
    expect(row.oidcClientSecret).not.toContain('oidc-client-secret-value');
    expect(t.services.encrypter.decrypt(row.oidcClientSecret!)).toBe('oidc-client-secret-value');

    const entries = await ssoAudit(id);
    expect(entries.map((e) => [e.action, e.actorUserId, e.metadata])).toEqual([
      [
        'organization.sso_updated',
        owner.userId,
        {
          created: [
            { id: oidc.id, name: 'Okta', type: 'oidc' },
            { id: saml.id, name: 'ADFS', type: 'saml' },
          ],
          updated: [],
          deleted: [],
          domainsAdded: ['corp.example', 'subsidiary.example'],
          domainsRemoved: [],
        },
      ],
    ]);
    expect(JSON.stringify(entries)).not.toContain('oidc-client-secret-value');
  });

  it('updates declaratively: ids update, new ones are created, absent ones deleted; a secret left out is kept', async () => {
    const { owner, id, path } = await organization();
    const first = (
      await put(path, owner, {
        connections: [oidcConnection({ domains: ['a.example', 'b.example'] }), samlConnection()],
      })
    ).body.data.connections;
    const [oidc, saml] = first;
    const tokenOf = (connection: { domains: { domain: string; verification: { value: string } }[] }, domain: string) =>
      connection.domains.find((d) => d.domain === domain)?.verification.value;
    dns.txt.set('_api-verification.a.example', [[tokenOf(oidc, 'a.example')!]]);
    expect((await verify(path, owner, 'a.example')).body).toMatchObject({ status: 200, data: { verified: true } });
    const ciphertext = (await t.services.orm.em.fork().findOneOrFail(SsoConnectionSchema, { id: oidc.id }))
      .oidcClientSecret;

    const res = await put(path, owner, {
      connections: [
        {
          id: oidc.id,
          name: 'Okta (prod)',
          type: 'oidc',
          required: true,
          domains: ['a.example', 'c.example'],
          oidc: { issuer: 'https://corp.okta.example', clientId: 'client-456' },
        },
        oidcConnection({ name: 'Second', domains: [] }),
      ],
    });
    expect(res.body, JSON.stringify(res.body)).toMatchObject({ status: 200 });
    const [updated, created] = res.body.data.connections;
    expect(updated).toMatchObject({
      id: oidc.id,
      name: 'Okta (prod)',
      required: true,
      oidc: { clientId: 'client-456', clientSecretSet: true },
    });
    // The kept domain keeps its token and verification; the new one starts over; b.example is gone.
    expect(updated.domains).toEqual([
      { ...oidc.domains[0], verified: true, verifiedAt: expect.any(String) },
      {
        domain: 'c.example',
        verified: false,
        verifiedAt: null,
        verification: { type: 'TXT', name: '_api-verification.c.example', value: expect.any(String) },
      },
    ]);
    expect(tokenOf(updated, 'c.example')).not.toBe(tokenOf(oidc, 'b.example'));
    expect(created).toMatchObject({ name: 'Second', domains: [] });
    const em = t.services.orm.em.fork();
    expect((await em.findOneOrFail(SsoConnectionSchema, { id: oidc.id })).oidcClientSecret).toBe(ciphertext);
    expect(await em.count(SsoConnectionSchema, { id: saml.id })).toBe(0);
    expect((await em.find(SsoDomainSchema, { organizationId: id })).map((d) => d.domain).sort()).toEqual([
      'a.example',
      'c.example',
    ]);

    const entry = (await ssoAudit(id)).at(-1)!;
    expect(entry.metadata).toEqual({
      created: [{ id: created.id, name: 'Second', type: 'oidc' }],
      updated: [{ id: oidc.id, changed: ['name', 'required', 'oidcClientId', 'domains'] }],
      deleted: [{ id: saml.id, name: 'ADFS', type: 'saml' }],
      domainsAdded: ['c.example'],
      domainsRemoved: ['b.example', 'subsidiary.example'],
    });

    // A new secret replaces the old one, and the audit says so without showing it.
    await put(path, owner, {
      connections: [
        {
          ...oidcConnection({ domains: ['a.example'] }),
          id: oidc.id,
          oidc: { ...oidcConnection().oidc, clientSecret: 'rotated-secret' },
        },
      ],
    });
    const rotated = await t.services.orm.em.fork().findOneOrFail(SsoConnectionSchema, { id: oidc.id });
    expect(t.services.encrypter.decrypt(rotated.oidcClientSecret!)).toBe('rotated-secret');
    const last = (await ssoAudit(id)).at(-1)!;
    expect((last.metadata as { updated: { changed: string[] }[] }).updated[0]!.changed).toContain('oidcClientSecret');
    expect(JSON.stringify(last.metadata)).not.toContain('rotated-secret');

    // A verified domain moved onto a new connection, its old one deleted, keeps its token and verification.
    const moved = await put(path, owner, { connections: [samlConnection({ domains: ['a.example'] })] });
    expect(moved.body, JSON.stringify(moved.body)).toMatchObject({ status: 200 });
    expect(moved.body.data.connections).toHaveLength(1);
    expect(moved.body.data.connections[0].domains).toEqual([
      { ...oidc.domains[0], verified: true, verifiedAt: updated.domains[0].verifiedAt },
    ]);

    // Everything left out: every connection and domain goes, verification with it.
    expect((await put(path, owner, { connections: [] })).body.data).toEqual({ connections: [] });
    expect(await t.services.orm.em.fork().count(SsoDomainSchema, { organizationId: id })).toBe(0);
  });

  it('reads the entity id, the redirect SSO URL and the signing certificates from IdP metadata XML', async () => {
    const { owner, path } = await organization();
    for (const wrap of [false, true]) {
      const res = await put(path, owner, {
        connections: [
          {
            name: 'From metadata',
            type: 'saml',
            saml: { idpMetadataXml: idpMetadata({ wrap, signing: [signingCertificate, secondCertificate] }) },
          },
        ],
      });
      expect(res.body, JSON.stringify(res.body)).toMatchObject({ status: 200 });
      expect(res.body.data.connections[0].saml).toMatchObject({
        idpEntityId: 'https://idp.corp.example/metadata',
        ssoUrl: 'https://idp.corp.example/saml/redirect',
        certificates: [
          { fingerprint256: new X509Certificate(signingCertificate).fingerprint256, subject: 'CN=idp-signing' },
          { fingerprint256: new X509Certificate(secondCertificate).fingerprint256, subject: 'CN=idp-next' },
        ],
      });
    }
    // An update that leaves the certificates out keeps them.
    const [kept] = (await get(path, owner)).body.data.connections;
    const res = await put(path, owner, {
      connections: [
        {
          id: kept.id,
          name: 'Renamed',
          type: 'saml',
          saml: { idpEntityId: 'https://other.example/idp', ssoUrl: 'https://other.example/sso' },
        },
      ],
    });
    expect(res.body.data.connections[0].saml).toMatchObject({
      idpEntityId: 'https://other.example/idp',
      certificates: kept.saml.certificates,
    });
  });

  it('refuses bad input with a 4xx naming the field, and changes nothing', async () => {
    const { owner, path } = await organization();
    const other = await organization();
    const existing = (await put(path, owner, { connections: [oidcConnection({ domains: ['keep.example'] })] })).body
      .data;
    const foreign = (await put(other.path, other.owner, { connections: [oidcConnection({ domains: [] })] })).body.data
      .connections[0];
    const kept = existing.connections[0];
    const many = Array.from({ length: 21 }, (_, i) => `d${i}.example`);
    const cases: [label: string, connections: unknown, code: string, field: string][] = [
      [
        'an http issuer',
        [oidcConnection({ oidc: { ...oidcConnection().oidc, issuer: 'http://idp.example' } })],
        'VALIDATION_ERROR',
        'connections.0.oidc.issuer',
      ],
      [
        'an issuer that is no URL',
        [oidcConnection({ oidc: { ...oidcConnection().oidc, issuer: 'idp' } })],
        'VALIDATION_ERROR',
        'connections.0.oidc.issuer',
      ],
      [
        'an issuer with credentials',
        [oidcConnection({ oidc: { ...oidcConnection().oidc, issuer: 'https://u:p@idp.example' } })],
        'VALIDATION_ERROR',
        'connections.0.oidc.issuer',
      ],
      [
        'a new OIDC connection without a secret',
        [oidcConnection({ oidc: { issuer: 'https://idp.example', clientId: 'x' } })],
        'VALIDATION_ERROR',
        'connections.0.oidc.clientSecret',
      ],
      [
        'a new OIDC connection without its block',
        [{ name: 'x', type: 'oidc' }],
        'VALIDATION_ERROR',
        'connections.0.oidc',
      ],
      [
        'a SAML block on an OIDC connection',
        [oidcConnection({ saml: samlConnection().saml })],
        'VALIDATION_ERROR',
        'connections.0.saml',
      ],
      [
        'IdP-initiated sign-in on OIDC',
        [oidcConnection({ allowIdpInitiated: true })],
        'VALIDATION_ERROR',
        'connections.0.allowIdpInitiated',
      ],
      [
        'a certificate that is no PEM',
        [samlConnection({ saml: { ...samlConnection().saml, certificates: ['hello'] } })],
        'VALIDATION_ERROR',
        'connections.0.saml.certificates.0',
      ],
      [
        'a PEM that is no certificate',
        [
          samlConnection({
            saml: {
              ...samlConnection().saml,
              certificates: [`${signingCertificate.slice(0, 200)}\n-----END CERTIFICATE-----`],
            },
          }),
        ],
        'VALIDATION_ERROR',
        'connections.0.saml.certificates.0',
      ],
      [
        'an http SSO URL',
        [samlConnection({ saml: { ...samlConnection().saml, ssoUrl: 'http://adfs.example/sso' } })],
        'VALIDATION_ERROR',
        'connections.0.saml.ssoUrl',
      ],
      [
        'a new SAML connection without certificates',
        [samlConnection({ saml: { idpEntityId: 'x', ssoUrl: 'https://adfs.example/sso' } })],
        'VALIDATION_ERROR',
        'connections.0.saml.certificates',
      ],
      [
        'SAML without an entity id',
        [samlConnection({ saml: { ssoUrl: 'https://adfs.example/sso', certificates: [signingCertificate] } })],
        'VALIDATION_ERROR',
        'connections.0.saml.idpEntityId',
      ],
      [
        'metadata and explicit fields',
        [samlConnection({ saml: { idpMetadataXml: idpMetadata({}), ssoUrl: 'https://adfs.example/sso' } })],
        'VALIDATION_ERROR',
        'connections.0.saml.idpMetadataXml',
      ],
      [
        'metadata that is not XML',
        [samlConnection({ saml: { idpMetadataXml: '<md:EntityDescriptor' } })],
        'VALIDATION_ERROR',
        'connections.0.saml.idpMetadataXml',
      ],
      [
        'metadata that is HTML',
        [samlConnection({ saml: { idpMetadataXml: '<html><body>Sign in</body></html>' } })],
        'VALIDATION_ERROR',
        'connections.0.saml.idpMetadataXml',
      ],
      [
        'metadata with a DOCTYPE',
        [samlConnection({ saml: { idpMetadataXml: `<!DOCTYPE x [<!ENTITY a "aaaa">]>${idpMetadata({})}` } })],
        'VALIDATION_ERROR',
        'connections.0.saml.idpMetadataXml',
      ],
      [
        'metadata without a redirect SSO service',
        [samlConnection({ saml: { idpMetadataXml: idpMetadata({ redirect: null }) } })],
        'VALIDATION_ERROR',
        'connections.0.saml.idpMetadataXml',
      ],
      [
        'metadata without a signing certificate',
        [samlConnection({ saml: { idpMetadataXml: idpMetadata({ signing: [] }) } })],
        'VALIDATION_ERROR',
        'connections.0.saml.idpMetadataXml',
      ],
      [
        'metadata with an http SSO URL',
        [samlConnection({ saml: { idpMetadataXml: idpMetadata({ redirect: 'http://idp.example/sso' }) } })],
        'VALIDATION_ERROR',
        'connections.0.saml.idpMetadataXml',
      ],
      [
        'metadata over 512 KiB',
        [samlConnection({ saml: { idpMetadataXml: `${idpMetadata({})}${' '.repeat(512 * 1024)}` } })],
        'VALIDATION_ERROR',
        'connections.0.saml.idpMetadataXml',
      ],
      [
        'a domain that is no domain',
        [oidcConnection({ domains: ['not a domain'] })],
        'VALIDATION_ERROR',
        'connections.0.domains.0',
      ],
      [
        'a wildcard domain',
        [oidcConnection({ domains: ['*.example.com'] })],
        'VALIDATION_ERROR',
        'connections.0.domains.0',
      ],
      [
        'a bare top-level domain',
        [oidcConnection({ domains: ['com'] })],
        'VALIDATION_ERROR',
        'connections.0.domains.0',
      ],
      [
        'a domain on two connections',
        [oidcConnection({ domains: ['x.example'] }), oidcConnection({ domains: ['X.example'] })],
        'VALIDATION_ERROR',
        'connections.1.domains.0',
      ],
      ['too many domains', [oidcConnection({ domains: many })], 'VALIDATION_ERROR', 'connections.0.domains'],
      [
        'too many connections',
        Array.from({ length: 11 }, () => oidcConnection({ domains: [] })),
        'VALIDATION_ERROR',
        'connections',
      ],
      ['the owner role', [oidcConnection({ defaultRole: 'owner' })], 'VALIDATION_ERROR', 'connections.0.defaultRole'],
      ['required as a string', [oidcConnection({ required: 'true' })], 'VALIDATION_ERROR', 'connections.0.required'],
      ['an unknown field', [oidcConnection({ secret: 'x' })], 'VALIDATION_ERROR', 'connections.0.secret'],
      ['a name too long', [oidcConnection({ name: 'x'.repeat(101) })], 'VALIDATION_ERROR', 'connections.0.name'],
      ['a malformed id', [oidcConnection({ id: 'nope' })], 'VALIDATION_ERROR', 'connections.0.id'],
      [
        'an id listed twice',
        [
          { ...oidcConnection({ domains: [] }), id: kept.id },
          { ...oidcConnection({ domains: [] }), id: kept.id },
        ],
        'VALIDATION_ERROR',
        'connections.1.id',
      ],
      ['a changed type', [{ ...samlConnection(), id: kept.id }], 'VALIDATION_ERROR', 'connections.0.type'],
      ['an unknown id', [{ ...oidcConnection(), id: '01J00000000000000000000000' }], 'NOT_FOUND', 'connections.0.id'],
      [
        'another organization’s connection',
        [{ ...oidcConnection(), id: foreign.id }],
        'TENANT_VIOLATION',
        'connections.0.id',
      ],
    ];
    for (const [label, connections, code, field] of cases) {
      const res = await put(path, owner, { connections });
      expect(res.status, label).toBeGreaterThanOrEqual(400);
      expect(res.status, label).toBeLessThan(500);
      expect(res.body, `${label}: ${JSON.stringify(res.body)}`).toMatchObject({ code, data: null });
      const fields =
        code === 'VALIDATION_ERROR'
          ? res.body.meta.errors.map((e: { field: string }) => e.field)
          : [res.body.meta.field];
      expect(fields, label).toContain(field);
    }
    for (const body of [{}, { connections: 'all' }, { connections: [null] }, []]) {
      expect((await put(path, owner, body)).body, JSON.stringify(body)).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
      });
    }
    expect((await get(path, owner)).body.data).toEqual(existing);
    expect(await ssoAudit(other.id)).toHaveLength(1);
  });

  it('refuses a certificate past its validity, by the service’s clock', async () => {
    const { owner, path } = await organization();
    clock.offset = 2 * DAY_MS;
    try {
      const res = await put(path, owner, {
        connections: [samlConnection({ saml: { ...samlConnection().saml, certificates: [shortCertificate] } })],
      });
      expect(res.body).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
        meta: { errors: [{ field: 'connections.0.saml.certificates.0' }] },
      });
      expect(res.body.meta.errors[0].error).toMatch(/expired/);
    } finally {
      clock.offset = 0;
    }
  });

  it('accepts http identity providers only with SSO_ALLOW_HTTP', async () => {
    const loose = await startTestApp({ env: { SSO_ALLOW_HTTP: 'true' } });
    try {
      const owner = await signUp(loose);
      const id = await defaultOrganizationId(loose, owner.userId);
      const res = await loose.request(`/api/user/organizations/${id}/settings/sso`, {
        method: 'PUT',
        headers: asBrowser(owner.cookie),
        body: JSON.stringify({
          connections: [oidcConnection({ oidc: { ...oidcConnection().oidc, issuer: 'http://127.0.0.1:9/issuer' } })],
        }),
      });
      expect(res.body).toMatchObject({
        status: 200,
        data: { connections: [{ oidc: { issuer: 'http://127.0.0.1:9/issuer' } }] },
      });
    } finally {
      await loose.close();
    }
  });
});

describe('POST /settings/sso/domains/{domain}/verify', () => {
  it('verifies a domain whose TXT record holds the token, once, and SSO discovery then names the connection', async () => {
    const { owner, id, path } = await organization();
    const [connection] = (await put(path, owner, { connections: [oidcConnection({ domains: ['verify-me.example'] })] }))
      .body.data.connections;
    const { name, value } = connection.domains[0].verification;
    expect((await t.request('/api/auth/sso/discover?email=ada@verify-me.example')).body.data).toMatchObject({
      found: false,
    });
    dns.txt.set(name, [['v=spf1 -all'], [value.slice(0, 10), value.slice(10)]]);
    const res = await verify(path, owner, 'Verify-Me.example');
    expect(res.body, JSON.stringify(res.body)).toMatchObject({
      status: 200,
      message: 'Domain verified',
      data: { domain: 'verify-me.example', verified: true, verification: { name, value } },
    });
    expect(Math.abs(new Date(res.body.data.verifiedAt).getTime() - Date.now())).toBeLessThan(10_000);
    const asked = dns.asked.length;
    expect((await verify(path, owner, 'verify-me.example')).body.data).toEqual(res.body.data);
    expect(dns.asked).toHaveLength(asked);
    expect((await t.request('/api/auth/sso/discover?email=ada@verify-me.example')).body.data).toMatchObject({
      found: true,
      providerId: connection.id,
    });
    const entries = (await ssoAudit(id)).filter((e) => e.action === 'organization.sso_domain_verified');
    expect(entries.map((e) => [e.actorUserId, e.targetId, e.metadata])).toEqual([
      [owner.userId, connection.id, { domain: 'verify-me.example' }],
    ]);

    // Taking the domain off the connection takes its verification with it.
    await put(path, owner, {
      connections: [{ ...oidcConnection({ domains: [] }), id: connection.id, oidc: undefined }],
    });
    expect((await t.request('/api/auth/sso/discover?email=ada@verify-me.example')).body.data).toMatchObject({
      found: false,
    });
  });

  it('refuses a wrong token, a missing record and a silent server with DOMAIN_NOT_VERIFIED and the record to publish', async () => {
    const { owner, path } = await organization();
    const [connection] = (
      await put(path, owner, {
        connections: [oidcConnection({ domains: ['wrong.example', 'missing.example', 'silent.example'] })],
      })
    ).body.data.connections;
    const record = (domain: string) =>
      connection.domains.find((d: { domain: string }) => d.domain === domain).verification;
    dns.txt.set('_api-verification.wrong.example', [['not-the-token'], [`${record('wrong.example').value}x`]]);
    dns.silent.add('_api-verification.silent.example');
    for (const [domain, reason] of [
      ['wrong.example', 'token-not-found'],
      ['missing.example', 'no-txt-record'],
      ['silent.example', 'dns-unavailable'],
    ] as const) {
      const res = await verify(path, owner, domain);
      expect(res.body, JSON.stringify(res.body)).toMatchObject({
        status: 403,
        code: 'DOMAIN_NOT_VERIFIED',
        data: null,
        meta: { reason, record: { type: 'TXT', name: record(domain).name, value: record(domain).value } },
      });
    }
    const rows = await t.services.orm.em.fork().find(SsoDomainSchema, { connectionId: connection.id });
    expect(rows.every((row) => row.verifiedAt === null && row.lastCheckedAt !== null)).toBe(true);
    expect((await verify(path, owner, 'unlisted.example')).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect((await verify(path, owner, 'not_a_domain')).body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
  }, 20_000);

  it('lets one organization verify a domain at a time: the second gets CONFLICT', async () => {
    const first = await organization();
    const second = await organization();
    const tokens: string[] = [];
    for (const org of [first, second]) {
      const [connection] = (
        await put(org.path, org.owner, { connections: [oidcConnection({ domains: ['contested.example'] })] })
      ).body.data.connections;
      tokens.push(connection.domains[0].verification.value);
    }
    expect(tokens[0]).not.toBe(tokens[1]);
    dns.txt.set(
      '_api-verification.contested.example',
      tokens.map((token) => [token]),
    );
    expect((await verify(first.path, first.owner, 'contested.example')).body).toMatchObject({
      status: 200,
      data: { verified: true },
    });
    const res = await verify(second.path, second.owner, 'contested.example');
    expect(res.body).toMatchObject({ status: 409, code: 'CONFLICT', data: null });
    const rows = await t.services.orm.em
      .fork()
      .find(SsoDomainSchema, { domain: 'contested.example' }, { orderBy: { organizationId: 'asc' } });
    expect(rows.filter((row) => row.verifiedAt !== null).map((row) => row.organizationId)).toEqual([first.id]);
    expect(await ssoAudit(second.id)).toHaveLength(1);

    // Once the first lets it go, the second can verify it.
    await put(first.path, first.owner, { connections: [] });
    expect((await verify(second.path, second.owner, 'contested.example')).body).toMatchObject({
      status: 200,
      data: { verified: true },
    });
  });
});
