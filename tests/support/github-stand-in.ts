/**
 * A stand-in for GitHub (github.com or GitHub Enterprise Server) on a loopback port, speaking only the
 * endpoints social sign-in uses, as GitHub documents them:
 *
 *   GET  /login/oauth/authorize      redirects back to redirect_uri with code and state (no login page:
 *                                    `signIn` says who is signed in)
 *   POST /login/oauth/access_token   exchanges the code once, for its client, redirect_uri and PKCE verifier
 *   GET  /api/v3/user                { id, login, name, email }        (the token as Bearer or `token`)
 *   GET  /api/v3/user/emails         [{ email, primary, verified, visibility }]
 *
 *   const github = await startGithubStandIn({ clientId: 'gh', clientSecret: 's' });
 *   env: GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, GITHUB_URL: github.webUrl, GITHUB_API_URL: github.apiUrl
 *   github.setUser({ id: 42, login: 'ada', name: 'Ada', emails: [{ email, primary: true, verified: true }] });
 *   const answer = await github.signIn(authorizationUrl, 42);   // the redirect_uri URL with code and state
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { freePort } from './net.js';

export interface GithubUser {
  id: number;
  login: string;
  name?: string | null;
  emails: { email: string; primary: boolean; verified: boolean }[];
}

export interface GithubStandIn {
  /** GITHUB_URL: the web host (OAuth endpoints). */
  webUrl: string;
  /** GITHUB_API_URL: the REST API, under /api/v3 as on GitHub Enterprise Server. */
  apiUrl: string;
  setUser(user: GithubUser): void;
  /** Follows the authorization URL as user `id` (already signed in at GitHub): the URL it redirects to. */
  signIn(authorizationUrl: string | URL, id: number): Promise<URL>;
  /** Requests the stand-in answered, `METHOD /path`, for assertions. */
  requests: string[];
  stop(): Promise<void>;
}

interface Grant {
  userId: number;
  clientId: string;
  redirectUri: string;
  challenge: string | null;
  scope: string;
}

export async function startGithubStandIn(options: { clientId: string; clientSecret: string }): Promise<GithubStandIn> {
  const users = new Map<number, GithubUser>();
  const codes = new Map<string, Grant>();
  const tokens = new Map<string, number>();
  const requests: string[] = [];

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const readBody = async (req: http.IncomingMessage): Promise<URLSearchParams> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if ((req.headers['content-type'] ?? '').includes('application/json')) {
      return new URLSearchParams(JSON.parse(text || '{}') as Record<string, string>);
    }
    return new URLSearchParams(text);
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    requests.push(`${req.method} ${url.pathname}`);
    try {
      if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
        const q = url.searchParams;
        const userId = Number(req.headers['x-stand-in-user']);
        const redirectUri = q.get('redirect_uri');
        if (q.get('client_id') !== options.clientId || !redirectUri || !users.has(userId)) {
          return json(res, 400, { error: 'invalid_request' });
        }
        const code = randomBytes(10).toString('hex');
        const method = q.get('code_challenge_method');
        codes.set(code, {
          userId,
          clientId: options.clientId,
          redirectUri,
          challenge: method === 'S256' ? q.get('code_challenge') : null,
          scope: q.get('scope') ?? '',
        });
        const back = new URL(redirectUri);
        back.searchParams.set('code', code);
        if (q.has('state')) back.searchParams.set('state', q.get('state')!);
        res.writeHead(302, { location: back.href });
        return res.end();
      }
      if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
        const body = await readBody(req);
        let clientId = body.get('client_id');
        let secret = body.get('client_secret');
        const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
        if (basic) {
          const [id, pass] = Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent);
          clientId = id ?? null;
          secret = pass ?? null;
        }
        const code = body.get('code') ?? '';
        const grant = codes.get(code);
        codes.delete(code);
        if (clientId !== options.clientId || secret !== options.clientSecret) {
          return json(res, 401, { error: 'invalid_client' });
        }
        const verifier = body.get('code_verifier') ?? '';
        const verified = grant?.challenge
          ? createHash('sha256').update(verifier).digest('base64url') === grant.challenge
          : true;
        if (!grant || grant.redirectUri !== body.get('redirect_uri') || !verified) {
          return json(res, 400, { error: 'bad_verification_code' });
        }
        const token = `gho_${randomBytes(16).toString('hex')}`;
        tokens.set(token, grant.userId);
        return json(res, 200, { access_token: token, token_type: 'bearer', scope: grant.scope.replace(/ /g, ',') });
      }
      if (req.method === 'GET' && (url.pathname === '/api/v3/user' || url.pathname === '/api/v3/user/emails')) {
        const token = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
        const user = users.get(tokens.get(token ?? '') ?? -1);
        if (!user) return json(res, 401, { message: 'Bad credentials' });
        if (url.pathname === '/api/v3/user') {
          const primary = user.emails.find((e) => e.primary);
          return json(res, 200, {
            id: user.id,
            login: user.login,
            name: user.name ?? null,
            email: primary?.email ?? null,
          });
        }
        return json(
          res,
          200,
          user.emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })),
        );
      }
      json(res, 404, { message: 'Not Found' });
    } catch {
      json(res, 500, { message: 'stand-in failure' });
    }
  });

  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const webUrl = `http://127.0.0.1:${port}`;
  return {
    webUrl,
    apiUrl: `${webUrl}/api/v3`,
    requests,
    setUser(user) {
      users.set(user.id, user);
    },
    async signIn(authorizationUrl, id) {
      const response = await fetch(authorizationUrl, {
        redirect: 'manual',
        headers: { 'x-stand-in-user': String(id) },
      });
      const location = response.headers.get('location');
      if (response.status !== 302 || !location) {
        throw new Error(`GitHub stand-in answered ${response.status}: ${await response.text()}`);
      }
      return new URL(location);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
