/**
 * A real upstream OpenID provider for tests: node-oidc-provider on a loopback port, playing Google, a
 * generic issuer, or an organization's enterprise IdP.
 *
 *   const upstream = await startUpstreamOidc({
 *     clients: [{ client_id: 'app', client_secret: 's', redirect_uris: [`${app.url}/api/auth/social/google/callback`] }],
 *     accounts: [{ sub: 'u1', email: 'ada@example.com', email_verified: true, name: 'Ada' }],
 *   });
 *   upstream.issuer                              // http://127.0.0.1:<port> (GOOGLE_ISSUER, a connection's issuer)
 *   const callback = await upstream.signIn(authorizationUrl, 'u1');
 *                                                // follows the authorization URL without a browser, signs in
 *                                                // as 'u1' at the provider's own login form, and returns the
 *                                                // redirect_uri URL it answers with (?code=&state=&iss=)
 *   upstream.setAccount({ sub: 'u1', email: 'new@example.com', email_verified: true });   // claims change
 *   upstream.tamperIdTokens((claims) => ({ ...claims, aud: 'someone-else' }));           // next ID tokens, re-signed
 *   upstream.tamperIdTokens((claims) => claims, { foreignKey: true });                   // signed with a key it never published
 *   await upstream.stop();
 *
 * - Clients default to `token_endpoint_auth_method: client_secret_post` (what openid-client uses with a
 *   bare secret); any other client metadata passes through.
 * - Sign-in is the provider's development login form (`devInteractions`: any login, any password; the login
 *   is the `sub`); consent is implied for every client, so a browser sees exactly one page.
 * - ID tokens carry the account's claims (email, email_verified, name), as Google's do; with
 *   `idTokenClaims: false` they carry only `sub` and the claims come from the userinfo endpoint.
 * - `tamperIdTokens` lets a test play a misbehaving provider (wrong audience, issuer, nonce, expiry): the
 *   token endpoint's ID token is decoded, changed, and signed again with the provider's own key (or,
 *   with `foreignKey`, with another key under the same kid, as a forger would).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import Provider, { type ClientMetadata } from 'oidc-provider';
import { freePort } from './net.js';

export interface UpstreamAccount {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface UpstreamOidcOptions {
  clients: (ClientMetadata & { client_id: string; client_secret: string; redirect_uris: string[] })[];
  accounts?: UpstreamAccount[];
  /** Account claims in the ID token (default true) or only at the userinfo endpoint. */
  idTokenClaims?: boolean;
  /** Listen on this port (default: a free one). */
  port?: number;
}

export interface UpstreamOidc {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  issuer: string;
  provider: Provider;
  /** Adds or replaces an account (its claims as the provider asserts them from now on). */
  setAccount(account: UpstreamAccount): void;
  /**
   * Follows `authorizationUrl` with a cookie jar of its own, signs in as `sub` through the login form,
   * and returns the URL the provider redirects to (the client's redirect_uri with code, state, iss, or
   * error). Throws when the provider answers with an error page instead.
   */
  signIn(authorizationUrl: string | URL, sub: string): Promise<URL>;
  /** Changes the claims of ID tokens issued from now on (null: stop). */
  tamperIdTokens(change: ((claims: JWTPayload) => JWTPayload) | null, options?: { foreignKey?: boolean }): void;
  stop(): Promise<void>;
}

export async function startUpstreamOidc(options: UpstreamOidcOptions): Promise<UpstreamOidc> {
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const accounts = new Map((options.accounts ?? []).map((account) => [account.sub, account]));
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: `test-${port}`, alg: 'RS256', use: 'sig' };
  const foreign = (await generateKeyPair('RS256')).privateKey;
  let tamper: ((claims: JWTPayload) => JWTPayload) | null = null;
  let signWithForeignKey = false;

  const provider = new Provider(issuer, {
    clients: options.clients.map((client) => ({ token_endpoint_auth_method: 'client_secret_post', ...client })),
    jwks: { keys: [jwk] },
    cookies: { keys: [`upstream-${port}-cookie-key`] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: options.idTokenClaims === false,
    features: { devInteractions: { enabled: true } },
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 600, IdToken: 600, Interaction: 600, Session: 600 },
    async findAccount(_ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ ...account, ...accounts.get(sub), sub }) };
    },
    // Consent is implied: every client is first-party here.
    async loadExistingGrant(ctx) {
      const clientId = ctx.oidc.client?.clientId;
      const accountId = ctx.oidc.session?.accountId;
      if (!clientId || !accountId) return undefined;
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId, accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });

  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (!tamper || ctx.path !== '/token' || !body || typeof body.id_token !== 'string') return;
    const header = decodeProtectedHeader(body.id_token);
    const claims = tamper(decodeJwt(body.id_token));
    body.id_token = await new SignJWT(claims)
      .setProtectedHeader({ alg: header.alg ?? 'RS256', kid: header.kid })
      .sign(signWithForeignKey ? foreign : privateKey);
  });

  const server = http.createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;
  if (actualPort !== port) throw new Error('upstream OIDC listened on an unexpected port');

  return {
    issuer,
    provider,
    setAccount(account) {
      accounts.set(account.sub, account);
    },
    tamperIdTokens(change, tamperOptions) {
      tamper = change;
      signWithForeignKey = tamperOptions?.foreignKey === true;
    },
    signIn: (authorizationUrl, sub) => signInWithoutBrowser(issuer, new URL(authorizationUrl), sub),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a browser does on the provider's pages, with fetch and a cookie jar. */
async function signInWithoutBrowser(issuer: string, start: URL, sub: string): Promise<URL> {
  const jar = new Map<string, string>();
  const send = async (url: URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? '';
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || !value) jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  };

  let url = start;
  let submitted = false;
  for (let hop = 0; hop < 10; hop++) {
    if (url.origin !== new URL(issuer).origin) return url;
    const response = await send(url);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url);
      continue;
    }
    const page = await response.text();
    const action = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(page)?.[1];
    if (response.status !== 200 || !action || !page.includes('name="login"') || submitted) {
      throw new Error(`upstream OIDC answered ${response.status} at ${url.pathname}: ${page.slice(0, 500)}`);
    }
    submitted = true;
    const posted = await send(new URL(action.replaceAll('&amp;', '&'), url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ prompt: 'login', login: sub, password: 'any' }).toString(),
    });
    const next = posted.headers.get('location');
    if (!next) throw new Error(`upstream OIDC login answered ${posted.status}: ${(await posted.text()).slice(0, 500)}`);
    url = new URL(next, url);
  }
  throw new Error('upstream OIDC: too many redirects');
}
