/**
 * Fixtures for the SSO settings and policy suites: X.509 certificates made by the openssl CLI, a
 * session signed in through an organization's SSO, and a required connection with a verified domain,
 * written straight to the database (with the cache entries they change dropped).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { SsoConnectionSchema, SsoDomainSchema } from '../../entities/sso.js';
import { createSession } from '../../server/auth/sessions.js';
import { newId } from '../../server/ids.js';
import { organizationCacheKeys } from '../../server/tenancy.js';
import type { TestApp } from './app.js';

/** A self-signed certificate (EC P-256) valid from now for `days`, in PEM. */
export function selfSignedCertificate(commonName: string, days = 30): string {
  return execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      '/dev/null',
      '-subj',
      `/CN=${commonName}`,
      '-days',
      String(days),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
}

/**
 * A session as an SSO sign-in into `ssoOrganizationId` leaves it (method `sso`), for the policy tests
 * until they sign in through the real flow; its cookie.
 */
export async function ssoSession(t: TestApp, userId: string, ssoOrganizationId: string | null): Promise<string> {
  const em = t.services.orm.em.fork();
  const session = createSession(em, {
    userId,
    ip: '127.0.0.1',
    userAgent: 'sso test',
    now: new Date(),
    methods: ['sso'],
    ssoOrganizationId,
  });
  await em.flush();
  return `session=${session.token}`;
}

/** A connection of `organizationId` with `required` as asked, serving `domain` verified; its id. */
export async function requiredConnection(
  t: TestApp,
  organizationId: string,
  domain: string,
  options: { required?: boolean; verified?: boolean } = {},
): Promise<string> {
  const em = t.services.orm.em.fork();
  const id = newId();
  const now = new Date();
  await em.insert(SsoConnectionSchema, {
    id,
    organizationId,
    name: 'Required SSO',
    type: 'oidc',
    defaultRole: 'member',
    required: options.required ?? true,
    allowIdpInitiated: false,
    oidcIssuer: 'https://idp.example.com',
    oidcClientId: 'client',
    oidcClientSecret: t.services.encrypter.encrypt('secret'),
    samlIdpEntityId: null,
    samlSsoUrl: null,
    samlCertificates: [],
    createdAt: now,
    updatedAt: now,
  });
  await em.insert(SsoDomainSchema, {
    id: newId(),
    organizationId,
    connectionId: id,
    domain,
    verificationToken: randomBytes(16).toString('hex'),
    verifiedAt: options.verified === false ? null : now,
    lastCheckedAt: null,
    createdAt: now,
  });
  await t.services.credentialCache.forget(await organizationCacheKeys(em, organizationId));
  return id;
}
