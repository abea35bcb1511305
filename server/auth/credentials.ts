/**
 * Resolves the one credential of a request into a principal (API.md section 6).
 *
 * - Precedence: `Authorization: Bearer` over `X-Api-Key` over the session cookie; a credential that
 *   is present but bad fails the request, with no fallback to the next one.
 * - A present but empty header is NO_TOKEN_PROVIDED.
 * - A cookie-authenticated unsafe request must carry an Origin in TRUSTED_ORIGINS (CSRF_REJECTED),
 *   checked before any lookup.
 * - A deactivated user's valid credential is USER_NOT_ACTIVE.
 * - Nothing here throws: the outcome is returned, and only routes that need a principal act on it.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthMethod } from '../../entities/session.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { validateApiKey } from './api-keys.js';
import type { AccessTokenVerifier } from './bearer.js';
import type { CredentialCache } from './credential-cache.js';
import { ApiError, toApiError } from '../errors.js';
import { USER_SCOPES, type Scope } from '../scopes.js';
import { readSessionToken, validateSessionToken } from './sessions.js';

export interface Principal {
  kind: 'session' | 'apiKey' | 'oauth';
  userId: string;
  email: string;
  emailVerified: boolean;
  scopes: ReadonlySet<Scope>;
  /** The session behind a cookie principal. */
  sessionId?: string;
  /** A session's sign-in factors and when the user last proved themselves (step-up reads it). */
  authMethods?: readonly AuthMethod[];
  strongAuthAt?: Date;
  /** The personal access token behind an X-Api-Key principal. */
  apiKeyId?: string;
  /** The OAuth client a bearer token was issued to. */
  oauthClientId?: string;
  /** An organization-pinned PAT's organization. */
  organizationId?: string;
  /**
   * The organization whose SSO connection signed in this session, or the session (or key) that
   * minted this PAT; an organization's SSO-required policy lets through only its own. OAuth bearer
   * tokens never carry one: a grant does not record how the user signed in at consent.
   */
  ssoOrganizationId?: string;
}

export type AuthResult = { principal: Principal; error?: undefined } | { principal: null; error?: ApiError };

export interface RequestCredentials {
  method: string;
  cookie?: string;
  authorization?: string;
  apiKey?: string;
  origin?: string;
}

const SESSION_SCOPES: ReadonlySet<Scope> = new Set(USER_SCOPES);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const NONE: AuthResult = { principal: null };

function failed(error: ApiError): AuthResult {
  return { principal: null, error };
}

export async function resolveCredentials(
  deps: {
    config: Config;
    em: EntityManager;
    credentialCache: CredentialCache;
    now: Date;
    log: Logger;
    accessTokens?: AccessTokenVerifier;
  },
  request: RequestCredentials,
): Promise<AuthResult> {
  try {
    if (request.authorization !== undefined) {
      const [scheme, ...rest] = request.authorization.trim().split(/\s+/);
      const token = rest.join(' ');
      if (!scheme || (scheme.toLowerCase() === 'bearer' && !token))
        return failed(new ApiError('NO_TOKEN_PROVIDED', 'The Authorization header is empty'));
      const invalid = () =>
        failed(new ApiError('INVALID_OR_EXPIRED_TOKEN', 'The bearer token is invalid, expired or revoked'));
      if (scheme.toLowerCase() !== 'bearer' || !deps.accessTokens) return invalid();
      const verified = await deps.accessTokens.verify(deps.em, token, deps.now);
      // A client acting for itself has no user behind it, so no user route or tenant is its to use.
      if (!verified?.user) return invalid();
      const { user } = verified;
      if (!user.isActive) return failed(new ApiError('USER_NOT_ACTIVE', 'This account has been deactivated'));
      return {
        principal: {
          kind: 'oauth',
          userId: verified.subject,
          email: user.email,
          emailVerified: user.emailVerified,
          scopes: verified.scopes,
          oauthClientId: verified.clientId,
        },
      };
    }
    if (request.apiKey !== undefined) {
      if (!request.apiKey.trim()) return failed(new ApiError('NO_TOKEN_PROVIDED', 'The X-Api-Key header is empty'));
      const key = await validateApiKey(deps.em, deps.credentialCache, request.apiKey.trim(), deps.now, deps.log);
      if (!key) return failed(new ApiError('INVALID_API_KEY', 'The API key is invalid, revoked or expired'));
      if (!key.isActive) return failed(new ApiError('USER_NOT_ACTIVE', 'This account has been deactivated'));
      return {
        principal: {
          kind: 'apiKey',
          userId: key.userId,
          email: key.email,
          emailVerified: key.emailVerified,
          scopes: key.scopes,
          apiKeyId: key.id,
          ...(key.organizationId ? { organizationId: key.organizationId } : {}),
          ...(key.ssoOrganizationId ? { ssoOrganizationId: key.ssoOrganizationId } : {}),
        },
      };
    }
    const token = readSessionToken(deps.config, request.cookie);
    if (token === undefined) return NONE;
    if (!SAFE_METHODS.has(request.method) && !(request.origin && deps.config.trustedOrigins.includes(request.origin))) {
      return failed(new ApiError('CSRF_REJECTED', 'Cookie-authenticated writes must come from a trusted Origin'));
    }
    const valid = await validateSessionToken(deps.em, deps.credentialCache, token, deps.now);
    if (!valid)
      return failed(new ApiError('INVALID_OR_EXPIRED_TOKEN', 'The session is invalid or has expired; sign in again'));
    if (!valid.user.isActive) return failed(new ApiError('USER_NOT_ACTIVE', 'This account has been deactivated'));
    return {
      principal: {
        kind: 'session',
        userId: valid.user.id,
        email: valid.user.email,
        emailVerified: valid.user.verifiedAt !== null,
        scopes: SESSION_SCOPES,
        sessionId: valid.session.id,
        authMethods: valid.session.authMethods,
        strongAuthAt: valid.session.strongAuthAt,
        ...(valid.session.ssoOrganizationId ? { ssoOrganizationId: valid.session.ssoOrganizationId } : {}),
      },
    };
  } catch (error) {
    return failed(toApiError(error));
  }
}
