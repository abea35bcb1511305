/**
 * Sign-in with GitHub (OAuth 2.0 plus its user and emails API) against a stand-in on loopback, with the
 * base URLs configured as for GitHub Enterprise Server: the subject is GitHub's numeric id and the
 * address is the primary one, trusted for linking only when GitHub marks it verified.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signUp, uniqueEmail } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { flowBrowser, rowCounts } from '../support/social.js';
import { startGithubStandIn, type GithubStandIn } from '../support/github-stand-in.js';

let t: TestApp;
let github: GithubStandIn;
let nextId = 1000;

beforeAll(async () => {
  github = await startGithubStandIn({ clientId: 'gh-client', clientSecret: 'gh-secret' });
  const port = await freePort();
  t = await startTestApp({
    port,
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      RATE_LIMIT_SIGN_IN_POINTS: '1000',
      GITHUB_CLIENT_ID: 'gh-client',
      GITHUB_CLIENT_SECRET: 'gh-secret',
      GITHUB_URL: github.webUrl,
      GITHUB_API_URL: github.apiUrl,
    },
  });
});
afterAll(async () => {
  await t?.close();
  await github?.stop();
});

const sql = <T>(query: string, params: unknown[] = []) =>
  t.services.orm.em.fork().getConnection().execute<T[]>(query, params);

function githubUser(primary: { email?: string; verified: boolean }) {
  const user = {
    id: nextId++,
    login: `octo${nextId}`,
    name: null,
    emails: [
      { email: uniqueEmail('old'), primary: false, verified: true },
      { email: primary.email ?? uniqueEmail('octo'), primary: true, verified: primary.verified },
    ],
  };
  github.setUser(user);
  return { ...user, email: user.emails[1]!.email };
}

async function signInWithGithub(id: number) {
  const b = flowBrowser(t);
  const start = await b.get('/api/auth/social/github');
  expect(start.status).toBe(303);
  const answer = await github.signIn(start.location!, id);
  return { start, end: await b.get(answer) };
}

describe('sign-in with GitHub', () => {
  it('asks for read:user and user:email with PKCE S256 and no nonce, then creates the user from the verified primary address, linked by the numeric id', async () => {
    const octo = githubUser({ verified: true });
    const { start, end } = await signInWithGithub(octo.id);
    const to = new URL(start.location!);
    expect(`${to.origin}${to.pathname}`).toBe(`${github.webUrl}/login/oauth/authorize`);
    expect(to.searchParams.get('scope')).toBe('read:user user:email');
    expect(to.searchParams.get('code_challenge_method')).toBe('S256');
    expect(to.searchParams.has('nonce')).toBe(false);

    expect(end.status).toBe(303);
    expect(end.headers.getSetCookie().some((c) => c.startsWith('session='))).toBe(true);
    const [row] = await sql<{ full_name: string; verified_at: Date | null; provider_id: string; account_id: string }>(
      `select u.full_name, u.verified_at, a.provider_id, a.account_id
         from users u join accounts a on a.user_id = u.id where u.email = ?`,
      [octo.email],
    );
    expect(row).toMatchObject({ full_name: octo.login, provider_id: 'github', account_id: String(octo.id) });
    expect(row!.verified_at).not.toBeNull();
    expect(github.requests).toEqual(
      expect.arrayContaining(['POST /login/oauth/access_token', 'GET /api/v3/user', 'GET /api/v3/user/emails']),
    );
  });

  it('links to an existing user with the same verified address', async () => {
    const existing = await signUp(t);
    const octo = githubUser({ email: existing.email, verified: true });
    const { end } = await signInWithGithub(octo.id);
    expect(end.status).toBe(303);
    const [account] = await sql<{ user_id: string }>(
      "select user_id from accounts where provider_id = 'github' and account_id = ?",
      [String(octo.id)],
    );
    expect(account!.user_id).toBe(existing.userId);
  });

  it('refuses a primary address GitHub has not verified: 403 EMAIL_NOT_VERIFIED for a new one, 409 ACCOUNT_NOT_LINKED for an existing user; nothing created', async () => {
    const existing = await signUp(t);
    const before = await rowCounts(t);
    const stranger = githubUser({ verified: false });
    const refusedNew = await signInWithGithub(stranger.id);
    expect(refusedNew.end.status).toBe(403);
    expect(refusedNew.end.body.code).toBe('EMAIL_NOT_VERIFIED');
    expect(refusedNew.end.body.meta.reason).toBe('provider-email-unverified');

    const claimant = githubUser({ email: existing.email, verified: false });
    const refusedLink = await signInWithGithub(claimant.id);
    expect(refusedLink.end.status).toBe(409);
    expect(refusedLink.end.body.code).toBe('ACCOUNT_NOT_LINKED');
    expect(refusedLink.end.body.meta.reason).toBe('provider-email-unverified');
    expect(await rowCounts(t)).toEqual(before);
    const history = await sql<{ reason: string; provider: string; email: string }>(
      "select reason, provider, email from login_history where provider = 'github' and outcome = 'failure' and email in (?, ?)",
      [stranger.email, existing.email],
    );
    expect(history).toHaveLength(2);
    expect(history.every((h) => h.reason === 'provider-email-unverified')).toBe(true);
  });

  it('answers 503 when GitHub cannot be reached for the code exchange', async () => {
    const octo = githubUser({ verified: true });
    const b = flowBrowser(t);
    const start = await b.get('/api/auth/social/github');
    const answer = await github.signIn(start.location!, octo.id);
    await github.stop();
    const end = await b.get(answer);
    expect(end.status).toBe(503);
    expect(end.body.code).toBe('SERVICE_UNAVAILABLE');
  });
});
