/**
 * The social providers the operator configured (server/config.ts), spoken to through openid-client.
 *
 * - OpenID Connect issuers (Google, OIDC_ISSUER) are found by discovery, once per process and provider;
 *   a failed discovery is not kept, so the next sign-in tries again. Plain http is allowed only when
 *   the operator configured an http issuer (a test's or a private network's). ID tokens have their
 *   signature checked against the issuer's published keys too (openid-client's non-repudiation checks),
 *   not only trusted for arriving over TLS from the token endpoint.
 * - GitHub is a plain OAuth 2.0 server (GITHUB_URL's /login/oauth/*), then its REST API (GITHUB_API_URL):
 *   the subject is the numeric user id, the address the primary one with its `verified` flag.
 * - The ID token (or GitHub's API) is the only source of the identity: its `sub`, `email`,
 *   `email_verified` (a string "true" is accepted; anything else is not verified) and `name`.
 * - Every failure of the provider becomes a clear answer (`providerFailure`): a network failure or a
 *   5xx is 503 SERVICE_UNAVAILABLE, an answer openid-client refuses is FEDERATION_FAILED with a reason
 *   (issuer-mismatch, audience-mismatch, nonce-mismatch, token-expired, signature-invalid, …).
 */
import * as oidc from 'openid-client';
import type { Config, SocialProviderConfig } from '../../../server/config.js';
import { ApiError } from '../../../server/errors.js';
import { Email } from '../schemas.js';
import { federationError } from '../federated/complete.js';

const TIMEOUT_SECONDS = 10;

/** The provider named in the path, or 404 when it is unknown or not configured. */
export function socialProvider(config: Pick<Config, 'socialProviders'>, id: string): SocialProviderConfig {
  const provider = config.socialProviders.get(id);
  if (!provider) throw new ApiError('NOT_FOUND', `No social provider "${id.slice(0, 64)}" is configured`);
  return provider;
}

export const socialRedirectUri = (config: Pick<Config, 'baseUrl'>, id: string) =>
  `${config.baseUrl}/api/auth/social/${encodeURIComponent(id)}/callback`;

export const socialScope = (provider: SocialProviderConfig) =>
  provider.kind === 'github' ? 'read:user user:email' : 'openid email profile';

const isHttp = (url: string) => new URL(url).protocol === 'http:';

const clients = new WeakMap<SocialProviderConfig, Promise<oidc.Configuration>>();

/** openid-client's configuration for the provider (discovered once; GitHub's built from its URLs). */
export function clientFor(provider: SocialProviderConfig): Promise<oidc.Configuration> {
  let client = clients.get(provider);
  if (!client) {
    client = buildClient(provider);
    clients.set(provider, client);
    client.catch(() => clients.delete(provider));
  }
  return client;
}

async function buildClient(provider: SocialProviderConfig): Promise<oidc.Configuration> {
  if (provider.kind === 'github') {
    const client = new oidc.Configuration(
      {
        issuer: provider.webUrl,
        authorization_endpoint: `${provider.webUrl}/login/oauth/authorize`,
        token_endpoint: `${provider.webUrl}/login/oauth/access_token`,
      },
      provider.clientId,
      provider.clientSecret,
    );
    if ([provider.webUrl, provider.apiUrl].some(isHttp)) oidc.allowInsecureRequests(client);
    client.timeout = TIMEOUT_SECONDS;
    return client;
  }
  return oidc.discovery(new URL(provider.issuer), provider.clientId, provider.clientSecret, undefined, {
    execute: isHttp(provider.issuer)
      ? [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks]
      : [oidc.enableNonRepudiationChecks],
    timeout: TIMEOUT_SECONDS,
  });
}

/** Who signed in, as the provider tells it. */
export interface SocialIdentity {
  subject: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
}

/** Reads the identity from the token response: the ID token's claims, else userinfo; GitHub's API. */
export async function identityFrom(
  provider: SocialProviderConfig,
  client: oidc.Configuration,
  tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
): Promise<SocialIdentity> {
  if (provider.kind === 'github') return githubIdentity(provider, client, tokens.access_token);
  const claims = tokens.claims();
  if (!claims) throw federationError('FEDERATION_FAILED', 'invalid-response', 'The provider sent no ID token');
  let source: Record<string, unknown> = claims;
  if (typeof claims.email !== 'string' && client.serverMetadata().userinfo_endpoint) {
    source = await oidc.fetchUserInfo(client, tokens.access_token, claims.sub);
  }
  return {
    subject: claims.sub,
    email: emailOf(source.email),
    emailVerified: source.email_verified === true || source.email_verified === 'true',
    name: typeof source.name === 'string' ? source.name : null,
  };
}

interface GithubEmail {
  email?: unknown;
  primary?: unknown;
  verified?: unknown;
}

async function githubIdentity(
  provider: Extract<SocialProviderConfig, { kind: 'github' }>,
  client: oidc.Configuration,
  accessToken: string,
): Promise<SocialIdentity> {
  const api = async (path: string): Promise<unknown> => {
    const headers = new Headers({ accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' });
    const response = await oidc.fetchProtectedResource(
      client,
      accessToken,
      new URL(`${provider.apiUrl}${path}`),
      'GET',
      undefined,
      headers,
    );
    if (response.status >= 500) throw unavailable();
    if (!response.ok) {
      throw federationError('FEDERATION_FAILED', 'provider-api-error', `GitHub's API answered ${response.status}`);
    }
    return response.json().catch(() => {
      throw federationError('FEDERATION_FAILED', 'invalid-response', "GitHub's API answered something other than JSON");
    });
  };
  const user = (await api('/user')) as { id?: unknown; name?: unknown; login?: unknown };
  const emails = await api('/user/emails');
  if (typeof user.id !== 'number' || !Array.isArray(emails)) {
    throw federationError('FEDERATION_FAILED', 'invalid-response', "GitHub's API answered an unexpected shape");
  }
  const primary = (emails as GithubEmail[]).find((e) => e?.primary === true);
  return {
    subject: String(user.id),
    email: emailOf(primary?.email),
    emailVerified: primary?.verified === true,
    name: typeof user.name === 'string' ? user.name : typeof user.login === 'string' ? user.login : null,
  };
}

function emailOf(value: unknown): string {
  const parsed = Email.safeParse(value);
  if (!parsed.success) {
    throw federationError('FEDERATION_FAILED', 'email-missing', 'The provider did not share an email address');
  }
  return parsed.data;
}

/** 503 for a provider that cannot be reached (or answers 5xx): the sign-in can be retried shortly. */
export const unavailable = (cause?: unknown) =>
  new ApiError(
    'SERVICE_UNAVAILABLE',
    'The sign-in provider cannot be reached; please retry shortly',
    { retryAfter: 5 },
    { cause },
  );

/** JWT claims openid-client compares, by the reason a mismatch is refused with. */
const CLAIM_REASONS: Record<string, string> = {
  iss: 'issuer-mismatch',
  aud: 'audience-mismatch',
  azp: 'audience-mismatch',
  nonce: 'nonce-mismatch',
  exp: 'token-expired',
  iat: 'token-expired',
  nbf: 'token-not-yet-valid',
  auth_time: 'auth-time-invalid',
};

/** The answer for an error thrown while talking to the provider (an ApiError passes through). */
export function providerFailure(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isNetworkFailure(error)) return unavailable();
  if (error instanceof oidc.AuthorizationResponseError) {
    return federationError(
      'FEDERATION_FAILED',
      'provider-error',
      `The provider refused the sign-in (${error.error.replace(/[^\w.-]/g, '').slice(0, 64)})`,
    );
  }
  if (error instanceof oidc.ResponseBodyError) {
    if (error.status >= 500) return unavailable();
    return federationError('FEDERATION_FAILED', 'token-rejected', 'The provider refused to exchange the code');
  }
  if (error instanceof oidc.ClientError) {
    // openid-client wraps oauth4webapi's error, whose own cause holds the details (the claim compared).
    const cause = error.cause as { cause?: { claim?: unknown }; status?: unknown } | undefined;
    const claim = typeof cause?.cause?.claim === 'string' ? cause.cause.claim : undefined;
    if (claim && CLAIM_REASONS[claim]) {
      return federationError(
        'FEDERATION_FAILED',
        CLAIM_REASONS[claim],
        `The provider's ID token failed its ${claim} check`,
      );
    }
    const signatureFailed = (cause?.cause as { signature?: unknown } | undefined)?.signature !== undefined;
    if (error.code === 'OAUTH_KEY_SELECTION_FAILED' || signatureFailed) {
      return federationError(
        'FEDERATION_FAILED',
        'signature-invalid',
        "The provider's ID token is not signed by its keys",
      );
    }
    if (error.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' && typeof cause?.status === 'number' && cause.status >= 500) {
      return unavailable();
    }
    if (error.code === 'OAUTH_INVALID_RESPONSE' && /"iss"/.test(String((error.cause as Error | undefined)?.message))) {
      return federationError('FEDERATION_FAILED', 'issuer-mismatch', 'The answer names another issuer');
    }
    return federationError('FEDERATION_FAILED', 'invalid-response', "The provider's answer failed validation");
  }
  return federationError('FEDERATION_FAILED', 'invalid-response', "The provider's answer could not be used");
}

function isNetworkFailure(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
    if (e instanceof TypeError && e.message === 'fetch failed') return true;
    const code = (e as { code?: unknown }).code;
    if (code === 'OAUTH_TIMEOUT' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ENOTFOUND')
      return true;
  }
  return false;
}
