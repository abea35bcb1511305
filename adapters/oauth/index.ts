/**
 * Mounts the OpenID provider: its protocol endpoints under /api/auth/oauth2 (protocol formats, no
 * envelope), discovery at /.well-known/openid-configuration and /.well-known/oauth-authorization-server,
 * and protected-resource metadata at /.well-known/oauth-protected-resource (RFC 9728).
 *
 * - Every request spends the global per-IP budget; the token endpoint also spends the per-client one.
 * - Client secrets are stored as SHA-256: a secret presented with client_secret_basic or
 *   client_secret_post is replaced by its hash (and a posted one moved into the Basic header, which is
 *   how clients are registered with the provider) before the provider compares it in constant time.
 */
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import type Provider from 'oidc-provider';
import type { Services } from '../../server/context.js';
import { sha256Hex } from '../../server/crypto.js';
import { clientKey } from '../../server/rate-limit.js';
import { setRateLimitHeaders } from '../../server/trpc.js';
import { UserSchema } from '../../entities/user.js';
import { interactionRoutes } from './interactions.js';
import { OIDC_SCOPES, apiAudience, issuerOf } from './provider.js';
import { USER_SCOPES } from '../../server/scopes.js';

const CLIENT_AUTHENTICATED = new Set(['/token', '/introspect', '/revoke']);
const parseForm = express.urlencoded({ extended: false, limit: '64kb' });

function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${sha256Hex(secret)}`).toString('base64')}`;
}

/** client_secret_post: the posted credentials leave the body and become the hashed Basic header. */
function hashPostedSecret(req: Request): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    parseForm(req, {} as Response, (error?: unknown) => {
      if (error) return reject(error);
      const body = req.body as Record<string, string> | undefined;
      if (!body || typeof body.client_secret !== 'string' || typeof body.client_id !== 'string' || req.headers.authorization) {
        return resolve(typeof body?.client_id === 'string' ? body.client_id : undefined);
      }
      const { client_id: clientId, client_secret: secret, ...rest } = body;
      req.headers.authorization = basic(clientId, secret);
      req.body = new URLSearchParams(rest).toString();
      resolve(clientId);
    });
  });
}

function hashBasicSecret(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header?.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const clientId = decodeURIComponent(decoded.slice(0, colon));
  const secret = decodeURIComponent(decoded.slice(colon + 1));
  req.headers.authorization = basic(clientId, secret);
  return clientId;
}

function tooMany(res: Response, retryAfter: number): void {
  res.status(429).setHeader('Retry-After', String(retryAfter));
  res.json({ error: 'rate_limited', error_description: 'Too many requests, please try again later.' });
}

export function mountOAuth(app: express.Express, services: Services, provider: Provider, csrfKey: string): void {
  const callback = provider.callback();
  const { config, limiter } = services;

  async function spend(req: Request, res: Response, clientId?: string): Promise<boolean> {
    const results = await Promise.all([
      limiter.consume('global', clientKey(req.ip ?? 'unknown')),
      ...(clientId ? [limiter.consume('oauthToken', clientId)] : []),
    ]);
    const refused = results.find((r) => !r.allowed);
    setRateLimitHeaders(res, refused ?? results[0]!);
    if (refused) tooMany(res, refused.resetSeconds);
    return !refused;
  }

  const discovery = async (req: Request, res: Response) => {
    if (!(await spend(req, res))) return;
    // The provider derives its endpoints' URLs from where it is mounted: present it as mounted at its issuer path.
    req.originalUrl = '/api/auth/oauth2/.well-known/openid-configuration';
    req.url = '/.well-known/openid-configuration';
    callback(req, res);
  };
  app.get('/.well-known/openid-configuration', discovery);
  app.get('/.well-known/oauth-authorization-server', discovery);
  app.get('/.well-known/oauth-protected-resource', async (req, res) => {
    if (!(await spend(req, res))) return;
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
    if (!(await spend(req, res))) return;
    res.setHeader('Cache-Control', 'no-store');
    const token = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const verified = token && services.accessTokens ? await services.accessTokens.verify(services.orm.em.fork(), token, services.now()) : null;
    const user = verified?.user?.isActive && verified.allScopes.includes('openid')
      ? await services.orm.em.fork().findOne(UserSchema, { id: verified.subject, isActive: true })
      : null;
    if (!verified || !user) {
      res.status(401).setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      return void res.json({ error: 'invalid_token', error_description: 'The access token is invalid, expired, revoked or lacks the openid scope' });
    }
    res.json({
      sub: user.id,
      ...(verified.allScopes.includes('email') ? { email: user.email, email_verified: user.verifiedAt !== null } : {}),
      ...(verified.allScopes.includes('profile') ? { name: user.fullName, updated_at: Math.floor(user.updatedAt.getTime() / 1000) } : {}),
    });
  };
  app.get('/api/auth/oauth2/userinfo', userinfo);
  app.post('/api/auth/oauth2/userinfo', userinfo);

  app.use('/api/auth/oauth2/interaction', async (req, res, next) => {
    if (await spend(req, res)) next();
  }, interactionRoutes(services, provider, csrfKey));

  app.use('/api/auth/oauth2', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const authenticated = req.method === 'POST' && CLIENT_AUTHENTICATED.has(req.path);
      const clientId = authenticated ? (hashBasicSecret(req) ?? (await hashPostedSecret(req))) : undefined;
      if (!(await spend(req, res, req.path === '/token' ? clientId ?? 'anonymous' : undefined))) return;
      // Everything under /api/auth is uncacheable (API.md section 3); the provider may say so itself too.
      res.setHeader('Cache-Control', 'no-store');
      callback(req, res);
    } catch (error) {
      next(error);
    }
  });
}
