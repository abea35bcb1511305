/**
 * OAuth access tokens minted as the provider mints them (a Grant row, a JWT signed with the provider's
 * own key), for suites that need many tokens of a kind; tests/oauth drives the real flow.
 */
import { randomBytes } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import { OAuthClientSchema, SigningKeySchema } from '../../entities/oauth.js';
import { sha256Hex } from '../../server/crypto.js';
import { newId } from '../../server/ids.js';
import { USER_SCOPES } from '../../server/scopes.js';
import { createEncrypter } from '../../server/secrets.js';
import { TEST_ENCRYPTION_KEY, type TestApp } from './app.js';
import { signUp } from './identity.js';

export interface ClientOptions {
  /** Who registered it (a fresh user when omitted). */
  ownerId?: string;
  name?: string;
  redirectUris?: string[];
  scopes?: string[];
  grantTypes?: string[];
  logoUri?: string | null;
}

/** A confidential client in the registry, its secret kept (as the registry does) only as SHA-256. */
export async function registerClient(t: TestApp, options: ClientOptions = {}): Promise<{ id: string; secret: string }> {
  const secret = `cs_${randomBytes(32).toString('base64url')}`;
  return { id: await insertClient(t, sha256Hex(secret), options), secret };
}

/** A public client (token_endpoint_auth_method none): no secret, PKCE alone. */
export async function registerPublicClient(t: TestApp, options: ClientOptions = {}): Promise<{ id: string }> {
  return { id: await insertClient(t, null, options) };
}

async function insertClient(t: TestApp, secretHash: string | null, options: ClientOptions): Promise<string> {
  const id = newId();
  const now = new Date();
  const ownerId = options.ownerId ?? (await signUp(t)).userId;
  await t.services.orm.em.fork().insert(OAuthClientSchema, {
    id,
    userId: ownerId,
    name: options.name ?? 'Test client',
    type: secretHash ? 'confidential' : 'public',
    secretHash,
    redirectUris: options.redirectUris ?? ['https://client.example/callback'],
    allowedScopes: options.scopes ?? ['openid', 'email', 'profile', 'offline_access', 'projects:read', 'user:read'],
    grantTypes: options.grantTypes ?? ['authorization_code', 'refresh_token'],
    logoUri: options.logoUri ?? null,
    policyUri: null,
    tosUri: null,
    createdAt: now,
    updatedAt: now,
    secretRotatedAt: null,
  });
  return id;
}

export async function createBearerToken(
  t: TestApp,
  options: { userId: string; scopes?: readonly string[] },
): Promise<{ token: string; grantId: string; clientId: string }> {
  const em = t.services.orm.em.fork();
  const now = new Date();
  const { id: clientId } = await registerClient(t, {
    ownerId: options.userId,
    name: 'Fixture client',
    scopes: ['openid', ...USER_SCOPES],
  });
  const base = t.services.config.baseUrl.replace(/\/$/, '');
  const audience = `${base}/api`;
  const scopes = [...(options.scopes ?? USER_SCOPES)];
  const grantId = randomBytes(16).toString('base64url');
  const iat = Math.floor(now.getTime() / 1000);
  await em
    .getConnection()
    .execute(
      `insert into oidc_artifacts (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at) values ('Grant', ?, ?, null, null, null, ?, null)`,
      [
        grantId,
        JSON.stringify({
          kind: 'Grant',
          jti: grantId,
          accountId: options.userId,
          clientId,
          iat,
          exp: iat + 86_400,
          openid: { scope: 'openid' },
          resources: { [audience]: scopes.join(' ') },
        }),
        new Date(now.getTime() + 86_400_000),
      ],
    );
  const signing = (await em.find(SigningKeySchema, { alg: 'RS256', retiredAt: null }))[0]!;
  const jwk = JSON.parse(createEncrypter(Buffer.from(TEST_ENCRYPTION_KEY, 'hex')).decrypt(signing.encryptedJwk)) as JWK;
  const token = await new SignJWT({
    scope: scopes.join(' '),
    client_id: clientId,
    grant_id: grantId,
    jti: randomBytes(16).toString('base64url'),
  })
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid!, typ: 'at+jwt' })
    .setIssuer(`${base}/api/auth/oauth2`)
    .setAudience(audience)
    .setSubject(options.userId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 900)
    .sign(await importJWK(jwk, 'RS256'));
  return { token, grantId, clientId };
}
