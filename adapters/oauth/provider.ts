/**
 * The OAuth 2.1 / OpenID Connect provider (node-oidc-provider) with this service's rules (API.md
 * section 10):
 * - authorization code with PKCE S256 required for every client (plain is not supported at all),
 *   no implicit or hybrid flow, no password grant; client credentials for confidential clients;
 * - codes live 60 s and are single use; refresh tokens rotate and live 30 days;
 * - a refresh token is issued exactly when the user approved `offline_access` for the client and the
 *   request asked for it (offlineAccess below): no prompt=consent needed, never silently dropped;
 * - access tokens are 15-minute JWTs for this API's audience, signed with keys kept encrypted in
 *   PostgreSQL; userinfo accepts them;
 * - the provider's own session lasts only as long as this service's: a request without a valid session
 *   cookie of this service for the same, active user must sign in again (prompt=none: login_required),
 *   so signing out, a password reset or a deactivation also ends silent authorization;
 * - an account whose email is not verified is always taken to the consent step, which refuses it
 *   (interactions.ts): it gets no grant, and no code under an older one (prompt=none: consent_required).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeJwt, type JWK } from 'jose';
import Provider, {
  errors,
  interactionPolicy,
  type Client,
  type Configuration,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import { UserSchema } from '../../entities/user.js';
import type { CredentialCache } from '../../server/auth/credential-cache.js';
import { readSessionToken, validateSessionToken } from '../../server/auth/sessions.js';
import type { Config } from '../../server/config.js';
import { USER_SCOPES } from '../../server/scopes.js';
import { createAdapterClass } from './adapter.js';
import { ERROR_PAGE_CSP, errorPage } from './pages.js';

export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;
const DAY = 24 * 60 * 60;

export function issuerOf(config: Pick<Config, 'baseUrl'>): string {
  return `${config.baseUrl.replace(/\/$/, '')}/api/auth/oauth2`;
}

/** The audience of access tokens for this API. */
export function apiAudience(config: Pick<Config, 'baseUrl'>): string {
  return `${config.baseUrl.replace(/\/$/, '')}/api`;
}

export interface ProviderOptions {
  config: Config;
  em: EntityManager;
  jwks: JWK[];
  cookieKeys: string[];
  now: () => Date;
  /** The services' cache of verified sessions, shared with the API's own session check. */
  credentialCache: CredentialCache;
}

/** The default prompts, and the checks that tie them to this service's session and to verified emails. */
function interactionsPolicy(
  config: Config,
  em: EntityManager,
  credentialCache: CredentialCache,
  now: () => Date,
): interactionPolicy.Prompt[] {
  const { Check, base } = interactionPolicy;
  const policy = base();
  policy.get('login')!.checks.add(
    new Check(
      'service_session',
      "the end-user's session with this service has ended",
      'login_required',
      async (ctx: KoaContextWithOIDC) => {
        const accountId = ctx.oidc.session?.accountId;
        if (!accountId) return Check.NO_NEED_TO_PROMPT;
        const token = readSessionToken(config, ctx.get('cookie'));
        const valid = token === undefined ? null : await validateSessionToken(em.fork(), credentialCache, token, now());
        return valid && valid.user.id === accountId && valid.user.isActive
          ? Check.NO_NEED_TO_PROMPT
          : Check.REQUEST_PROMPT;
      },
    ),
  );
  policy
    .get('consent')!
    .checks.add(
      new Check(
        'email_not_verified',
        'the end-user has not verified their email address',
        'consent_required',
        (ctx: KoaContextWithOIDC) =>
          ctx.oidc.account?.emailVerified === false ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
      ),
    );
  return policy;
}

/**
 * `offline_access` follows the user's approval. OpenID Connect Core section 11 has a provider honour it
 * only with prompt=consent "unless other conditions for processing the request permitting offline
 * access" are in place, and oidc-provider drops it from any other request without a word. Here the
 * condition is this: the scope is listed on the consent page (interactions.ts), a grant that lacks it
 * always takes the user there (prompt=none answers consent_required), and only an approval there puts
 * it in the grant, which the user can withdraw (DELETE /api/user/oauth-grants/{clientId}) and which
 * a password change or reset ends. So the scope the client sent is kept, whatever its prompt:
 * - a client that may not have it (not among its allowed scopes, or not registered for the
 *   refresh_token grant, without which the token would be useless) is refused with invalid_scope,
 *   redirected to it, instead of being answered as if it had not asked;
 * - the code then carries offline_access only when it was both asked for and approved, and
 *   issueRefreshToken issues a refresh token exactly then.
 *
 * It runs as the validator of the `scope` parameter (extraParams), which oidc-provider calls after its
 * own scope checks at the authorization endpoint and for pushed authorization requests, and reads the
 * scope as sent: the query or form (as oidc-provider reads them), or the pushed request's stored parameters.
 */
async function offlineAccess(ctx: KoaContextWithOIDC, value: string | undefined, client: Client): Promise<void> {
  const current = new Set(value?.split(' ') ?? []);
  if (current.has('offline_access') || !scopeAsSent(ctx).includes('offline_access')) return;
  if (!client.scope?.split(' ').includes('offline_access'))
    throw new errors.InvalidScope('requested scope is not allowed', 'offline_access');
  if (!client.grantTypeAllowed('refresh_token')) {
    throw new errors.InvalidScope(
      'offline_access needs the refresh_token grant, which this client is not registered for',
      'offline_access',
    );
  }
  ctx.oidc.params!.scope = [...current, 'offline_access'].join(' ');
}

/** The scope parameter of the authorization request as the client sent it (before oidc-provider's checks). */
function scopeAsSent(ctx: KoaContextWithOIDC): string[] {
  const pushed = ctx.oidc.entities.PushedAuthorizationRequest;
  const source: Record<string, unknown> | undefined = pushed
    ? decodeJwt(pushed.request)
    : ctx.method === 'POST'
      ? (ctx.oidc.body as Record<string, unknown> | undefined)
      : ctx.query;
  return typeof source?.scope === 'string' ? source.scope.split(' ') : [];
}

export function createProvider(options: ProviderOptions): Provider {
  const { config, em } = options;
  const audience = apiAudience(config);
  const configuration: Configuration = {
    adapter: createAdapterClass(em, options.now),
    jwks: { keys: options.jwks as never },
    cookies: { keys: options.cookieKeys },
    scopes: [...OIDC_SCOPES, ...USER_SCOPES],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'updated_at'] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    rotateRefreshToken: true,
    extraParams: { scope: offlineAccess },
    // A code carries offline_access only when the request asked for it and the user approved it (above).
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    ttl: {
      AccessToken: 900,
      ClientCredentials: 900,
      AuthorizationCode: 60,
      RefreshToken: 30 * DAY,
      Grant: 30 * DAY,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * DAY,
    },
    routes: {
      authorization: '/authorize',
      token: '/token',
      userinfo: '/userinfo',
      jwks: '/jwks',
      revocation: '/revoke',
      introspection: '/introspect',
      end_session: '/end-session',
      registration: '/register',
    },
    interactions: {
      policy: interactionsPolicy(config, em, options.credentialCache, options.now),
      url: (_ctx, interaction) => `/api/auth/oauth2/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // A client may introspect and revoke only the tokens issued to it.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      // RFC 7591: off unless OAUTH_DYNAMIC_REGISTRATION=true; users register clients through /api/user/oauth-clients.
      registration: { enabled: config.oauthDynamicRegistration },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          // RFC 8707: a resource this provider issues no tokens for is the client's error, not ours.
          if (resource !== audience) throw new errors.InvalidTarget();
          // OIDC scopes too: the one access token serves this API and userinfo (API.md section 10).
          return {
            scope: ['openid', 'profile', 'email', ...USER_SCOPES].join(' '),
            audience,
            accessTokenTTL: 900,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // Access tokens name the grant that issued them, so revoking that grant (a reused code, a replayed
    // refresh token, a withdrawal) ends exactly its tokens (server/auth/bearer.ts).
    extraTokenClaims: (_ctx, token) =>
      'grantId' in token && typeof token.grantId === 'string' ? { grant_id: token.grantId } : undefined,
    // Protocol errors shown to a person (a bad client or redirect URI) use this service's error page.
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.set('Content-Security-Policy', ERROR_PAGE_CSP);
      ctx.body = errorPage(`${out.error}: ${out.error_description ?? 'the request is invalid'}`);
    },
    async findAccount(_ctx, sub) {
      const user = await em.fork().findOne(UserSchema, { id: sub, isActive: true });
      if (!user) return undefined;
      return {
        accountId: user.id,
        emailVerified: user.verifiedAt !== null,
        claims: async () => ({
          sub: user.id,
          email: user.email,
          email_verified: user.verifiedAt !== null,
          name: user.fullName,
          updated_at: Math.floor(user.updatedAt.getTime() / 1000),
        }),
      };
    },
  };
  const provider = new Provider(issuerOf(config), configuration);
  provider.proxy = config.trustProxy !== false;
  return provider;
}
