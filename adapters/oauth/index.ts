/**
 * Mounts the OpenID provider: its protocol endpoints under /api/auth/oauth2 (protocol formats, no
 * envelope), discovery at /.well-known/openid-configuration and /.well-known/oauth-authorization-server,
 * and protected-resource metadata at /.well-known/oauth-protected-resource (RFC 9728).
 *
 * - Every request spends the global per-IP budget as it arrives, before anything reads its body
 *   (server/arrival.ts, as REST and tRPC do): a spent client's body is never read. The token endpoint
 *   then also spends a per-client one, keyed by the client alone only when it proves itself with its
 *   secret; any other caller naming it (a wrong or missing secret, a public client) spends the budget
 *   of that client and its own address, and callers naming no registered client share their
 *   address's. Knowing a client_id is therefore not enough to spend a partner's budget.
 * - Client secrets reach the provider only as their SHA-256 (client-auth.ts); credentials that are not
 *   properly form-encoded are invalid_client (401).
 * - No parameter carries a NUL (no OAuth value holds one, and PostgreSQL cannot store one): such a
 *   request is invalid_request before the provider sees it. Unreadable bodies are invalid_request too,
 *   JSON nested deeper than 64 levels among them: it is refused from its raw bytes before it is parsed
 *   (rest/body-errors.ts), so nothing here walks a structure deep enough to exhaust the stack.
 * - The access tokens are JWTs the provider cannot introspect or revoke: those are answered here
 *   (access-tokens.ts); refresh tokens and everything else go to the provider.
 */
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import type Provider from 'oidc-provider';
import { spendGlobalOnArrival } from '../../server/arrival.js';
import { clientAddress, type Services } from '../../server/context.js';
import type { ApiError } from '../../server/errors.js';
import { clientKey } from '../../server/rate-limit.js';
import { setRateLimitHeaders } from '../../server/trpc.js';
import { UserSchema } from '../../entities/user.js';
import { callerOf, introspectAccessToken, isStructuredToken, revokeOwnAccessToken } from './access-tokens.js';
import { handOnHashed, namedClient, presentedCredentials, type PresentedCredentials } from './client-auth.js';
import { interactionRoutes } from './interactions.js';
import { ERROR_PAGE_CSP, errorPage } from './pages.js';
import { OIDC_SCOPES, apiAudience, issuerOf } from './provider.js';
import { USER_SCOPES } from '../../server/scopes.js';
import { refuseDeepJson } from '../rest/body-errors.js';

const CLIENT_AUTHENTICATED = new Set(['/token', '/introspect', '/revoke', '/request']);
/** Endpoints a person's browser is sent to (their full paths): their errors are pages, not JSON. */
const BROWSER_FACING = /^\/api\/auth\/oauth2\/(authorize|end-session|interaction)(\/|$)/;
/** Paths whose errors are the protocols' own (RFC 6749 form, or a page), not the API's envelope. */
const PROTOCOL_PATHS = /^\/(api\/auth\/oauth2|\.well-known)(\/|$)/;
const parseForm = express.urlencoded({ extended: false, limit: '64kb' });
const parseJson = express.json({ limit: '64kb', verify: refuseDeepJson });

/** Reads a form body (or a registration's JSON) up front, so that its values are checked before the provider's turn. */
async function readBody(req: Request, res: Response): Promise<void> {
  for (const parse of [parseForm, parseJson]) {
    await new Promise<void>((resolve, reject) =>
      parse(req, res, (error?: unknown) => (error ? reject(error) : resolve())),
    );
  }
}

/** Recursive, and bounded: a JSON body nests at most MAX_JSON_DEPTH levels, a form (not `extended`) not at all. */
function carriesNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(carriesNul);
  if (value && typeof value === 'object')
    return Object.entries(value).some(([key, v]) => key.includes('\u0000') || carriesNul(v));
  return false;
}

/** An RFC 6749 error, as a page where a person is looking. */
function protocolError(req: Request, res: Response, status: number, error: string, description: string): void {
  res.status(status);
  if (BROWSER_FACING.test(req.baseUrl + req.path)) {
    return void res
      .setHeader('Content-Security-Policy', ERROR_PAGE_CSP)
      .type('html')
      .send(errorPage(`${error}: ${description}`));
  }
  res.json({ error, error_description: description });
}

function tooMany(res: Response, retryAfter: number): void {
  res.status(429).setHeader('Retry-After', String(retryAfter));
  res.json({ error: 'rate_limited', error_description: 'Too many requests, please try again later.' });
}

/** Whether Express's final error handler answers this request in the protocol's form (`sendProtocolFailure`). */
export const answersInProtocolForm = (req: Request): boolean => PROTOCOL_PATHS.test(req.baseUrl + req.path);

/**
 * An error that escaped to Express's final handler, in RFC 6749's words: the client's mistakes are
 * invalid_request, ours server_error (or temporarily_unavailable, with Retry-After, when the database is down).
 */
export function sendProtocolFailure(req: Request, res: Response, error: ApiError): void {
  const retryAfter = typeof error.meta.retryAfter === 'number' ? error.meta.retryAfter : 5;
  if (error.status === 429) return tooMany(res, retryAfter);
  res.setHeader('Cache-Control', 'no-store');
  if (error.status === 503) res.setHeader('Retry-After', String(retryAfter));
  const code =
    error.status === 503 ? 'temporarily_unavailable' : error.status >= 500 ? 'server_error' : 'invalid_request';
  protocolError(req, res, error.status, code, error.message);
}

export function mountOAuth(app: express.Express, services: Services, provider: Provider, csrfKey: string): void {
  const callback = provider.callback();
  const { config, limiter } = services;

  /** Spends the global budget when the headers are in, before anything reads the body. */
  async function arrive(req: Request, res: Response, next: NextFunction): Promise<void> {
    const budget = await spendGlobalOnArrival(services, req, res);
    if (!budget.allowed) return tooMany(res, budget.resetSeconds);
    next();
  }
  app.use(
    [
      '/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server',
      '/.well-known/oauth-protected-resource',
      '/api/auth/oauth2',
    ],
    arrive,
  );

  /** Spends the token endpoint's budget, given its key (which may take a lookup). */
  async function spendTokenBudget(res: Response, key: Promise<string>): Promise<boolean> {
    const budget = await limiter.consume('oauthToken', await key);
    if (budget.allowed) return true;
    setRateLimitHeaders(res, budget);
    tooMany(res, budget.resetSeconds);
    return false;
  }

  const discovery = (req: Request, res: Response) => {
    // The provider derives its endpoints' URLs from where it is mounted: present it as mounted at its issuer path.
    req.originalUrl = '/api/auth/oauth2/.well-known/openid-configuration';
    req.url = '/.well-known/openid-configuration';
    callback(req, res);
  };
  app.get('/.well-known/openid-configuration', discovery);
  app.get('/.well-known/oauth-authorization-server', discovery);
  app.get('/.well-known/oauth-protected-resource', (_req, res) => {
    res.json({
      resource: apiAudience(config),
      authorization_servers: [issuerOf(config)],
      scopes_supported: [...USER_SCOPES, ...OIDC_SCOPES],
      bearer_methods_supported: ['header'],
      resource_documentation: `${config.baseUrl.replace(/\/$/, '')}/api/docs`,
    });
  });

  // Userinfo accepts the API's access tokens (API.md section 10): one token serves both.
  const userinfo = async (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    const token = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const verified =
      token && services.accessTokens
        ? await services.accessTokens.verify(services.orm.em.fork(), token, services.now())
        : null;
    const user =
      verified?.user?.isActive && verified.allScopes.includes('openid')
        ? await services.orm.em.fork().findOne(UserSchema, { id: verified.subject, isActive: true })
        : null;
    if (!verified || !user) {
      res.status(401).setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      return void res.json({
        error: 'invalid_token',
        error_description: 'The access token is invalid, expired, revoked or lacks the openid scope',
      });
    }
    res.json({
      sub: user.id,
      ...(verified.allScopes.includes('email') ? { email: user.email, email_verified: user.verifiedAt !== null } : {}),
      ...(verified.allScopes.includes('profile')
        ? { name: user.fullName, updated_at: Math.floor(user.updatedAt.getTime() / 1000) }
        : {}),
    });
  };
  app.get('/api/auth/oauth2/userinfo', userinfo);
  app.post('/api/auth/oauth2/userinfo', userinfo);

  app.use('/api/auth/oauth2/interaction', interactionRoutes(services, provider, csrfKey));

  app.use('/api/auth/oauth2', async (req: Request, res: Response, next: NextFunction) => {
    try {
      let unreadable = false;
      if (req.method === 'POST' || req.method === 'PUT') await readBody(req, res).catch(() => (unreadable = true));
      const presented =
        req.method === 'POST' && CLIENT_AUTHENTICATED.has(req.path) && !unreadable
          ? presentedCredentials(req)
          : undefined;
      if (req.path === '/token' && !(await spendTokenBudget(res, tokenBudgetKey(req, presented)))) return;
      // Everything under /api/auth is uncacheable (API.md section 3); the provider may say so itself too.
      res.setHeader('Cache-Control', 'no-store');
      if (unreadable) return protocolError(req, res, 400, 'invalid_request', 'the request body could not be read');
      if (/%00/i.test(req.originalUrl) || carriesNul(req.body))
        return protocolError(req, res, 400, 'invalid_request', 'a parameter contains a NUL character');
      if (presented === null) return invalidClient(res, true, 'the client credentials are not properly form-encoded');
      if (presented) handOnHashed(req, presented);

      const token = (req.body as Record<string, unknown> | undefined)?.token;
      if ((req.path === '/introspect' || req.path === '/revoke') && presented && isStructuredToken(token)) {
        const callerId = callerOf(await namedClient(services.orm.em.fork(), presented));
        if (!callerId) return invalidClient(res, presented.basic, 'client authentication failed');
        if (req.path === '/introspect') return void res.json(await introspectAccessToken(services, callerId, token));
        await revokeOwnAccessToken(services, callerId, token);
        return void res.status(200).end();
      }
      callback(req, res);
    } catch (error) {
      next(error);
    }
  });

  /** Whose token budget a token request spends: see the rules at the top of this file. */
  async function tokenBudgetKey(req: Request, presented: PresentedCredentials | null | undefined): Promise<string> {
    const client = presented ? await namedClient(services.orm.em.fork(), presented) : undefined;
    if (client?.proven) return client.clientId;
    return `${client?.clientId ?? 'unregistered'}|${clientKey(clientAddress(req))}`;
  }

  /** RFC 6749 section 5.2: a client that tried Basic authentication is told the scheme it failed. */
  function invalidClient(res: Response, basic: boolean, description: string): void {
    if (basic) res.setHeader('WWW-Authenticate', `Basic realm="${issuerOf(config)}", error="invalid_client"`);
    res.status(401).json({ error: 'invalid_client', error_description: description });
  }
}
