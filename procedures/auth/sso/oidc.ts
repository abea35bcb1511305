/**
 * OpenID Connect for an SSO connection, with openid-client (the certified relying party) doing every
 * protocol check.
 *
 * - The issuer is discovered from its own metadata (the document's `issuer` must be the configured
 *   one); an `http:` issuer is refused unless SSO_ALLOW_HTTP=true (BAD_REQUEST, insecure-issuer): the
 *   server fetches what an organization admin typed in, so plain http is for tests and local setups.
 *   Discovery is cached per connection and its last change, for an hour.
 * - Each sign-in carries state, a nonce and PKCE (S256), kept server-side for 10 minutes and used once
 *   (procedures/auth/federated/state.ts); the callback is bound to the browser that started it.
 * - The code grant checks the `iss` response parameter, the ID token's signature, issuer, audience,
 *   nonce and times; client authentication is client_secret_basic with the decrypted secret.
 * - Refusals are FEDERATION_FAILED with a reason: provider-error (the IdP answered with an error),
 *   issuer-mismatch, audience-mismatch, nonce-mismatch, signature-invalid, id-token-expired, token-exchange-failed,
 *   provider-unreachable, discovery-failed, invalid-response, email-missing.
 */
import * as client from 'openid-client';
import type { SsoConnection } from '../../../entities/sso.js';
import type { Context } from '../../../server/context.js';
import { ApiError } from '../../../server/errors.js';
import { completeFederatedSignIn, federationError, type FederatedAttempt } from '../federated/complete.js';
import { redirectToProvider } from '../federated/authorization.js';
import { consumeFederatedFlow } from '../federated/state.js';
import { ssoUrls } from '../../../server/sso-urls.js';
import { emailOnVerifiedDomain, ssoProvider } from './connection.js';

const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const MAX_CACHED = 500;
const TIMEOUT_SECONDS = 10;

/** By connection id: the discovery of the connection's version `version` (its updatedAt). */
const discovered = new Map<string, { version: number; at: number; configuration: Promise<client.Configuration> }>();

const failed = (reason: string, message: string) => federationError('FEDERATION_FAILED', reason, message);

/** The connection's client configuration, discovered once per connection version (see the file's comment). */
export async function oidcConfiguration(ctx: Pick<Context, 'services'>, connection: SsoConnection) {
  const { config, encrypter } = ctx.services;
  let issuer: URL;
  try {
    issuer = new URL(connection.oidcIssuer ?? '');
  } catch {
    throw federationError(
      'BAD_REQUEST',
      'connection-incomplete',
      'This OpenID Connect connection has no valid issuer URL',
    );
  }
  const insecure = issuer.protocol === 'http:';
  if ((insecure && !config.ssoAllowHttp) || (!insecure && issuer.protocol !== 'https:')) {
    throw federationError(
      'BAD_REQUEST',
      'insecure-issuer',
      'This connection’s issuer is not an https URL; an organization admin must change it',
    );
  }
  if (!connection.oidcClientId || !connection.oidcClientSecret) {
    throw federationError(
      'BAD_REQUEST',
      'connection-incomplete',
      'This OpenID Connect connection has no client credentials',
    );
  }
  const version = connection.updatedAt.getTime();
  const cached = discovered.get(connection.id);
  if (cached?.version === version && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.configuration;
  const configuration = client
    .discovery(
      issuer,
      connection.oidcClientId,
      undefined,
      client.ClientSecretBasic(encrypter.decrypt(connection.oidcClientSecret)),
      {
        timeout: TIMEOUT_SECONDS,
        // The ID token's signature is checked too, not only trusted for coming over the token endpoint.
        execute: insecure
          ? [client.enableNonRepudiationChecks, client.allowInsecureRequests]
          : [client.enableNonRepudiationChecks],
      },
    )
    .catch((error: unknown) => {
      // A failed discovery is not kept: the next sign-in tries again.
      if (discovered.get(connection.id)?.configuration === configuration) discovered.delete(connection.id);
      throw (
        networkError(error) ??
        failed('discovery-failed', 'The identity provider’s OpenID Connect metadata could not be used')
      );
    });
  discovered.delete(connection.id);
  if (discovered.size >= MAX_CACHED) discovered.delete(discovered.keys().next().value!);
  discovered.set(connection.id, { version, at: Date.now(), configuration });
  return configuration;
}

/** Starts the sign-in: the authorization URL, with state, nonce and PKCE recorded for the callback. */
export async function startOidc(ctx: Context, connection: SsoConnection, callbackUrl: string | undefined) {
  const configuration = await oidcConfiguration(ctx, connection);
  return redirectToProvider(
    ctx,
    configuration,
    { kind: 'sso', provider: ssoProvider(connection.id), connectionId: connection.id, callbackUrl },
    {
      redirectUri: ssoUrls(ctx.services.config.baseUrl, connection.id).callback,
      scope: 'openid email profile',
      withNonce: true,
    },
  );
}

/** The authorization response's parameters, as the callback received them. */
export interface OidcAnswer {
  code?: string;
  state?: string;
  iss?: string;
  error?: string;
}

/** Finishes the sign-in from the callback (see the file's comment for what is checked). */
export async function finishOidc(
  ctx: Context,
  connection: SsoConnection,
  attempt: FederatedAttempt,
  answer: OidcAnswer,
): Promise<{ location: string }> {
  const flow = await consumeFederatedFlow(ctx, ssoProvider(connection.id), { state: answer.state });
  if (answer.error)
    throw failed('provider-error', `The identity provider refused the sign-in (${answer.error.slice(0, 100)})`);
  const configuration = await oidcConfiguration(ctx, connection);
  const currentUrl = new URL(ssoUrls(ctx.services.config.baseUrl, connection.id).callback);
  for (const [name, value] of Object.entries(answer)) if (value !== undefined) currentUrl.searchParams.set(name, value);
  let claims: client.IDToken | undefined;
  try {
    const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
      pkceCodeVerifier: flow.secrets.verifier,
      expectedNonce: flow.secrets.nonce,
      expectedState: answer.state,
      idTokenExpected: true,
    });
    claims = tokens.claims();
  } catch (error) {
    throw grantFailure(error);
  }
  const asserted = typeof claims?.email === 'string' ? claims.email : '';
  if (!claims || !/^[^\s@]+@[^\s@]+$/.test(asserted) || asserted.length > 254) {
    throw failed('email-missing', 'The identity provider did not give an email address (the email scope)');
  }
  attempt.email = asserted.toLowerCase();
  const email = await emailOnVerifiedDomain(ctx, connection, asserted);
  const name = typeof claims.name === 'string' ? claims.name : null;
  return completeFederatedSignIn(
    ctx,
    attempt,
    {
      method: 'sso',
      provider: ssoProvider(connection.id),
      subject: claims.sub,
      email,
      emailVerified: true,
      name,
      connection: { id: connection.id, organizationId: connection.organizationId, defaultRole: connection.defaultRole },
    },
    flow.callbackUrl,
  );
}

function networkError(error: unknown): ApiError | undefined {
  const name = (error as { name?: string } | null)?.name;
  if (error instanceof TypeError || name === 'TimeoutError' || name === 'AbortError') {
    return failed('provider-unreachable', 'The identity provider could not be reached');
  }
  return undefined;
}

/** openid-client's refusals of the authorization response, the token response or the ID token, as reasons. */
function grantFailure(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const unreachable = networkError(error);
  if (unreachable) return unreachable;
  // openid-client's ClientError carries the code; the library's own error, its cause, says what failed.
  const { code, cause } = error as { code?: string; cause?: { message?: string; cause?: { claim?: string } } };
  const message = cause?.message ?? '';
  const claim = cause?.cause?.claim;
  if (code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED') {
    if (claim === 'iss') return failed('issuer-mismatch', 'The ID token was issued by another issuer');
    if (claim === 'aud') return failed('audience-mismatch', 'The ID token is meant for another client');
    if (claim === 'nonce') return failed('nonce-mismatch', 'The ID token answers another sign-in');
  }
  if (/"iss" \(issuer\)/.test(message)) {
    return failed('issuer-mismatch', 'The authorization response names another issuer than this connection’s');
  }
  if (code === 'OAUTH_KEY_SELECTION_FAILED' || /signature verification failed/.test(message)) {
    return failed('signature-invalid', 'The ID token’s signature does not verify with the identity provider’s keys');
  }
  if (code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') return failed('id-token-expired', 'The ID token has expired');
  if (code === 'OAUTH_RESPONSE_BODY_ERROR') {
    return failed('token-exchange-failed', 'The identity provider refused to exchange the authorization code');
  }
  return failed('invalid-response', 'The identity provider’s answer could not be verified');
}
