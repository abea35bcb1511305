/**
 * What the provider keeps in oidc_artifacts gives nothing usable to someone who reads the table (a
 * dump, a replica, a backup): codes, refresh tokens, the provider's session cookie and interaction
 * uids are stored only as SHA-256, and no payload repeats them; the flow works as before, and rows
 * written before the upgrade are converted so their tokens keep working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../server/crypto.js';
import { openDatabase, type Orm } from '../../server/database.js';
import { createTestDatabase, startTestApp, type TestApp } from '../support/app.js';
import { signUp, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { registerClient } from '../support/oauth.js';
import {
  approveConsent,
  authorizationRequest,
  basicAuth,
  cookieBrowser,
  csrfOf,
  formPost,
  protocolPost,
  type CookieBrowser,
} from '../support/oauth-flow.js';

const REDIRECT = 'https://client.example/callback';
const SCOPE = 'openid email offline_access projects:read';
/** Moves only this service's clock (the refresh grace period), not the provider's token expiries. */
const clock = { at: Date.now(), now: () => new Date(clock.at) };
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** An app of its own; one that restarts on a database listens where it did, so the issuer stays the same. */
async function start(options: { databaseUrl?: string; port?: number } = {}): Promise<TestApp> {
  const { databaseUrl } = options;
  const port = options.port ?? (await freePort());
  const t = await startTestApp({
    port,
    now: clock.now,
    ...(databaseUrl ? { databaseUrl } : {}),
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      TRUSTED_ORIGINS: 'http://localhost:3000',
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
      RATE_LIMIT_SIGN_IN_POINTS: '100',
    },
  });
  cleanups.push(t.close);
  return t;
}

/** Every stored artifact as text: what a dump of the table shows. */
async function dump(orm: Orm): Promise<{ text: string; models: string[] }> {
  const rows = await orm.em
    .fork()
    .getConnection()
    .execute<{ model: string }[]>(
      'select model, id, payload::text as payload, grant_id, user_code, uid from oidc_artifacts',
    );
  return { text: JSON.stringify(rows), models: rows.map((r) => r.model) };
}

function flowOf(t: TestApp, client: { id: string; secret: string }) {
  const issuer = `${t.services.config.baseUrl}/api/auth/oauth2`;
  const authorize = (params: Record<string, string> = {}) =>
    authorizationRequest(`${issuer}/authorize`, {
      client_id: client.id,
      redirect_uri: REDIRECT,
      scope: SCOPE,
      ...params,
    });
  const post = (name: string, fields: Record<string, string>) =>
    protocolPost(`${issuer}/${name}`, fields, { authorization: basicAuth(client.id, client.secret) });
  return {
    authorize,
    exchange: (code: string, verifier: string) =>
      post('token', { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT }),
    refresh: (token: string) => post('token', { grant_type: 'refresh_token', refresh_token: token }),
    revoke: (token: string) => post('revoke', { token }),
    introspect: (token: string) => post('introspect', { token }),
    /** A browser holding this service's session cookie approves the consent page: the code and its verifier. */
    async consentCode(b: CookieBrowser) {
      const request = await authorize({ prompt: 'consent' });
      const callback = await approveConsent(b, request.url);
      return { code: callback.searchParams.get('code')!, verifier: request.verifier };
    },
    /** prompt=none for a browser the provider already knows: the code it gets, if any. */
    async silentCode(b: CookieBrowser) {
      const request = await authorize({ prompt: 'none' });
      const { url } = await b.follow(request.url);
      return {
        code: new URL(url).searchParams.get('code'),
        error: new URL(url).searchParams.get('error'),
        verifier: request.verifier,
      };
    },
  };
}

const jtiOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).jti as string;

describe('artifacts at rest', () => {
  let t: TestApp;
  let client: { id: string; secret: string };
  let user: SignedUp;
  beforeAll(async () => {
    t = await start();
    client = await registerClient(t, { name: 'Partner App', redirectUris: [REDIRECT] });
    user = await signUp(t);
  });

  it('stores no code, refresh token, access token id, session cookie or interaction uid in the clear', async () => {
    const flow = flowOf(t, client);
    const b = cookieBrowser(t.services.config.baseUrl);
    // Approving offline_access brings a refresh token (offline-access.test.ts); here with prompt=consent too.
    const request = await flow.authorize({ prompt: 'consent' });
    const signInPage = await b.follow(request.url);
    const uid = new URL(signInPage.url).pathname.split('/').pop()!;
    const consent = await formPost(b, `${signInPage.url}/login`, {
      csrf: csrfOf(await signInPage.res.text()),
      email: user.email,
      password: user.password,
    });
    const consentHtml = await consent.res.text();
    const sessionCookie = b.cookies.get('_session')!;
    expect(sessionCookie).toBeTruthy();
    const duringInteraction = await dump(t.services.orm);
    expect(duringInteraction.models).toEqual(expect.arrayContaining(['Interaction', 'Session']));

    const callback = new URL((await formPost(b, `${consent.url}/confirm`, { csrf: csrfOf(consentHtml) })).url);
    const code = callback.searchParams.get('code')!;
    const beforeExchange = await dump(t.services.orm);
    expect(beforeExchange.models).toContain('AuthorizationCode');

    const tokens = await flow.exchange(code, request.verifier);
    expect(tokens.status).toBe(200);
    const rotated = await flow.refresh(tokens.body.refresh_token);
    expect(rotated.status).toBe(200);
    const afterRefresh = await dump(t.services.orm);
    expect(afterRefresh.models).toEqual(expect.arrayContaining(['Grant', 'RefreshToken', 'Session']));

    const secrets = {
      code,
      refreshToken: tokens.body.refresh_token,
      rotatedRefreshToken: rotated.body.refresh_token,
      accessTokenJti: jtiOf(tokens.body.access_token),
      sessionCookie,
      uid,
    };
    for (const { text } of [duringInteraction, beforeExchange, afterRefresh]) {
      for (const [name, secret] of Object.entries(secrets)) expect(text, name).not.toContain(secret);
    }
    // The rows are there, under the values' hashes.
    expect(afterRefresh.text).toContain(sha256Hex(rotated.body.refresh_token));
    expect(duringInteraction.text).toContain(sha256Hex(sessionCookie));
  });

  it('keeps the flow working: the provider session, refresh, reuse detection and revocation', async () => {
    const flow = flowOf(t, client);
    const b = cookieBrowser(t.services.config.baseUrl);
    b.cookies.set('session', user.cookie.split('=')[1]!);

    const reused = await flow.consentCode(b);
    const tokens = await flow.exchange(reused.code, reused.verifier);
    expect(tokens.status).toBe(200);
    expect((await flow.exchange(reused.code, reused.verifier)).body.error).toBe('invalid_grant');
    expect((await flow.refresh(tokens.body.refresh_token)).body.error).toBe('invalid_grant');

    const replayed = await flow.consentCode(b);
    const family = await flow.exchange(replayed.code, replayed.verifier);
    expect((await flow.introspect(family.body.refresh_token)).body.active).toBe(true);
    const rotated = await flow.refresh(family.body.refresh_token);
    expect(rotated.status).toBe(200);
    clock.at += 11_000;
    expect((await flow.refresh(family.body.refresh_token)).body.error).toBe('invalid_grant');
    expect((await flow.refresh(rotated.body.refresh_token)).body.error).toBe('invalid_grant');

    // The provider finds its session by the cookie's hash: prompt=none gets a code.
    await flow.consentCode(b);
    const silent = await flow.silentCode(b);
    expect(silent.error).toBeNull();
    const revocable = await flow.exchange(silent.code!, silent.verifier);
    expect(revocable.status).toBe(200);
    expect((await flow.revoke(revocable.body.refresh_token)).status).toBe(200);
    expect((await flow.introspect(revocable.body.refresh_token)).body.active).toBe(false);
    expect((await flow.refresh(revocable.body.refresh_token)).body.error).toBe('invalid_grant');
  });
});

describe('the upgrade of rows stored in the clear', () => {
  it('hashes them, and the tokens and sessions issued before it keep working', async () => {
    const database = await createTestDatabase();
    cleanups.push(database.drop);
    const port = await freePort();
    const before = await start({ databaseUrl: database.url, port });
    const client = await registerClient(before, { name: 'Partner App', redirectUris: [REDIRECT] });
    const user = await signUp(before);
    const flow = flowOf(before, client);
    const b = cookieBrowser(before.services.config.baseUrl);
    b.cookies.set('session', user.cookie.split('=')[1]!);
    const first = await flow.consentCode(b);
    const tokens = await flow.exchange(first.code, first.verifier);
    const pending = await flow.silentCode(b);
    const consentRequest = await flow.authorize({ prompt: 'consent' });
    const consent = await b.follow(consentRequest.url);
    const consentHtml = await consent.res.text();
    const uid = new URL(consent.url).pathname.split('/').pop()!;
    const sessionCookie = b.cookies.get('_session')!;
    await before.close();

    // The rows as the previous version stored them: the secret as the id, and again as the payload's jti
    // (and an interaction's returnTo URL and its copy of the session cookie).
    const orm = await openDatabase(database.url);
    const sql = orm.em.fork().getConnection();
    const inTheClear: [string, string][] = [
      ['RefreshToken', tokens.body.refresh_token],
      ['AuthorizationCode', pending.code!],
      ['Session', sessionCookie],
      ['Interaction', uid],
    ];
    for (const [model, secret] of inTheClear) {
      const updated = await sql.execute(
        `update oidc_artifacts set id = ?, payload = payload || jsonb_build_object('jti', ?::text) where model = ? and id = ? returning id`,
        [secret, secret, model, sha256Hex(secret)],
      );
      expect(updated, model).toHaveLength(1);
    }
    await sql.execute(
      `update oidc_artifacts set payload = jsonb_set(jsonb_set(payload, '{session,cookie}', to_jsonb(?::text)), '{returnTo}', to_jsonb(replace(payload->>'returnTo', '{uid}', id))) where model = 'Interaction' and id = ?`,
      [sessionCookie, uid],
    );
    expect((await dump(orm)).text).toContain(`authorize/${uid}`);
    await sql.execute(`delete from mikro_orm_migrations where name = 'Migration20261202110000'`);
    await orm.close();

    const after = await start({ databaseUrl: database.url, port });
    const text = (await dump(after.services.orm)).text;
    for (const [model, secret] of inTheClear) {
      expect(text, model).not.toContain(secret);
      expect(text, model).toContain(sha256Hex(secret));
    }
    const upgraded = flowOf(after, client);
    expect((await upgraded.refresh(tokens.body.refresh_token)).status).toBe(200);
    expect((await upgraded.exchange(pending.code!, pending.verifier)).status).toBe(200);
    // The interaction begun before the upgrade finishes after it, in the same provider session.
    const approved = new URL((await formPost(b, `${consent.url}/confirm`, { csrf: csrfOf(consentHtml) })).url);
    expect((await upgraded.exchange(approved.searchParams.get('code')!, consentRequest.verifier)).status).toBe(200);
    expect((await upgraded.silentCode(b)).error).toBeNull();
  });
});
