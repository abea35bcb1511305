/**
 * Every way a social sign-in can fail on its way back from the provider (issue 14, point 5): a clear
 * 4xx with its code and `meta.reason`, a login-history row with that reason and the provider, and no
 * user, linked account, session or membership created. The provider is a real node-oidc-provider;
 * a misbehaving one is played by re-signing its ID tokens (tests/support/upstream-oidc.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { uniqueEmail } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { flowBrowser, rowCounts, type FlowResponse } from '../support/social.js';
import { startUpstreamOidc, type UpstreamOidc } from '../support/upstream-oidc.js';

let t: TestApp;
let google: UpstreamOidc;
/** Another provider instance that knows the same client: an ID token or code from the wrong issuer. */
let impostor: UpstreamOidc;
/** How far the service's clock is ahead of the real one. */
let clockAhead = 0;

beforeAll(async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const client = {
    client_id: 'google-client',
    client_secret: 'google-secret',
    redirect_uris: [`${base}/api/auth/social/google/callback`],
  };
  google = await startUpstreamOidc({ clients: [client] });
  impostor = await startUpstreamOidc({ clients: [client] });
  t = await startTestApp({
    port,
    now: () => new Date(Date.now() + clockAhead),
    env: {
      BASE_URL: base,
      RATE_LIMIT_SIGN_IN_POINTS: '1000',
      GOOGLE_CLIENT_ID: client.client_id,
      GOOGLE_CLIENT_SECRET: client.client_secret,
      GOOGLE_ISSUER: google.issuer,
    },
  });
});
afterAll(async () => {
  await t?.close();
  await google?.stop();
  await impostor?.stop();
});

const sql = <T>(query: string, params: unknown[] = []) =>
  t.services.orm.em.fork().getConnection().execute<T[]>(query, params);

function person(claims: { email_verified?: boolean } = {}) {
  const account = {
    sub: `sub-${randomBytes(6).toString('hex')}`,
    email: uniqueEmail('fail'),
    email_verified: true,
    ...claims,
  };
  google.setAccount(account);
  impostor.setAccount(account);
  return account;
}

/** Started in a browser of its own and signed in at `upstream`: the provider's answer, not yet delivered. */
async function answered(sub: string, upstream = google) {
  const b = flowBrowser(t);
  const start = await b.get('/api/auth/social/google');
  expect(start.status).toBe(303);
  const authorize = new URL(start.location!);
  const at = new URL(`${authorize.pathname}${authorize.search}`, upstream.issuer);
  return { b, answer: await upstream.signIn(at, sub) };
}

interface Refusal {
  status: number;
  code: string;
  reason: string;
  /** The address the history row names (what the provider asserted), when the flow got that far. */
  email?: string;
}

/** Runs `attempt` and checks the refusal a user sees, the history row, and that nothing was created. */
async function expectRefusal(attempt: () => Promise<FlowResponse>, expected: Refusal) {
  const countHistory = async () =>
    Number(
      (
        await sql<{ n: string }>(
          "select count(*) as n from login_history where reason = ? and provider = 'google' and outcome = 'failure'",
          [expected.reason],
        )
      )[0]!.n,
    );
  const before = await rowCounts(t);
  const historyBefore = await countHistory();
  const res = await attempt();
  expect(res.status).toBe(expected.status);
  expect(res.body.code).toBe(expected.code);
  expect(res.body.meta.reason).toBe(expected.reason);
  expect(res.headers.getSetCookie().filter((c) => c.startsWith('session='))).toEqual([]);
  expect(await rowCounts(t)).toEqual(before);
  expect(await countHistory()).toBe(historyBefore + 1);
  const [row] = await sql<{ method: string; user_id: string | null; email: string | null }>(
    "select method, user_id, email from login_history where reason = ? and provider = 'google' order by created_at desc, id desc limit 1",
    [expected.reason],
  );
  expect(row).toEqual({ method: 'social', user_id: null, email: expected.email ?? null });
  return res;
}

describe('the flow state', () => {
  it('refuses an unknown or missing state with 400 INVALID_FEDERATION_STATE invalid-state', async () => {
    const { b, answer } = await answered(person().sub);
    answer.searchParams.set('state', 'A'.repeat(43));
    await expectRefusal(() => b.get(answer), {
      status: 400,
      code: 'INVALID_FEDERATION_STATE',
      reason: 'invalid-state',
    });
    answer.searchParams.delete('state');
    await expectRefusal(() => b.get(answer), {
      status: 400,
      code: 'INVALID_FEDERATION_STATE',
      reason: 'invalid-state',
    });
  });

  it('refuses the same answer a second time with state-replayed', async () => {
    const { b, answer } = await answered(person().sub);
    const first = await b.get(answer);
    expect(first.status).toBe(303);
    await expectRefusal(() => b.get(answer), {
      status: 400,
      code: 'INVALID_FEDERATION_STATE',
      reason: 'state-replayed',
    });
  });

  it('refuses an answer opened in another browser (no binding cookie, or another one) with browser-mismatch', async () => {
    const { answer } = await answered(person().sub);
    await expectRefusal(() => flowBrowser(t).get(answer), {
      status: 400,
      code: 'INVALID_FEDERATION_STATE',
      reason: 'browser-mismatch',
    });
    const other = flowBrowser(t);
    await other.get('/api/auth/social/google');
    const second = await answered(person().sub);
    await expectRefusal(() => other.get(second.answer), {
      status: 400,
      code: 'INVALID_FEDERATION_STATE',
      reason: 'browser-mismatch',
    });
  });

  it('keeps an expired flow a day (so a late answer hears state-expired), then the next start sweeps it', async () => {
    const { answer } = await answered(person().sub);
    const state = answer.searchParams.get('state')!;
    const stored = async () =>
      (
        await sql<{ n: number }>('select count(*)::int as n from federated_states where state_hash = ?', [
          createHash('sha256').update(state).digest('hex'),
        ])
      )[0]!.n;
    expect(await stored()).toBe(1);
    clockAhead = 12 * 60 * 60_000;
    try {
      await flowBrowser(t).get('/api/auth/social/google');
      expect(await stored()).toBe(1);
      clockAhead = 25 * 60 * 60_000;
      await flowBrowser(t).get('/api/auth/social/google');
      expect(await stored()).toBe(0);
    } finally {
      clockAhead = 0;
    }
  });

  it('refuses an answer that comes back after 10 minutes with state-expired', async () => {
    const { b, answer } = await answered(person().sub);
    clockAhead = 10 * 60_000 + 1000;
    try {
      await expectRefusal(() => b.get(answer), {
        status: 400,
        code: 'INVALID_FEDERATION_STATE',
        reason: 'state-expired',
      });
    } finally {
      clockAhead = 0;
    }
  });
});

describe("the provider's answer", () => {
  it('refuses an error the provider sent back (the user cancelled) with 401 FEDERATION_FAILED provider-error', async () => {
    const { b, answer } = await answered(person().sub);
    answer.searchParams.delete('code');
    answer.searchParams.set('error', 'access_denied');
    answer.searchParams.set('error_description', 'End-User aborted interaction');
    await expectRefusal(() => b.get(answer), { status: 401, code: 'FEDERATION_FAILED', reason: 'provider-error' });
  });

  it('refuses an answer from another issuer (mix-up: the iss parameter names it) with issuer-mismatch', async () => {
    const { b, answer } = await answered(person().sub, impostor);
    expect(answer.searchParams.get('iss')).toBe(impostor.issuer);
    await expectRefusal(() => b.get(answer), { status: 401, code: 'FEDERATION_FAILED', reason: 'issuer-mismatch' });
  });

  it('refuses a code the provider does not accept with token-rejected', async () => {
    const { b, answer } = await answered(person().sub);
    answer.searchParams.set('code', 'not-a-code-the-provider-issued');
    await expectRefusal(() => b.get(answer), { status: 401, code: 'FEDERATION_FAILED', reason: 'token-rejected' });
  });

  const tampered: [string, string, (claims: Record<string, unknown>) => Record<string, unknown>][] = [
    ['an ID token naming another issuer', 'issuer-mismatch', (c) => ({ ...c, iss: impostor.issuer })],
    ['an ID token for another client', 'audience-mismatch', (c) => ({ ...c, aud: 'someone-else' })],
    ['an ID token with another nonce', 'nonce-mismatch', (c) => ({ ...c, nonce: 'replayed-nonce' })],
    [
      'an expired ID token',
      'token-expired',
      (c) => ({ ...c, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }),
    ],
  ];
  for (const [what, reason, change] of tampered) {
    it(`refuses ${what} with 401 FEDERATION_FAILED ${reason}`, async () => {
      const { b, answer } = await answered(person().sub);
      google.tamperIdTokens(change);
      try {
        await expectRefusal(() => b.get(answer), { status: 401, code: 'FEDERATION_FAILED', reason });
      } finally {
        google.tamperIdTokens(null);
      }
    });
  }

  it('refuses an ID token not signed by the provider keys with signature-invalid', async () => {
    const { b, answer } = await answered(person().sub);
    google.tamperIdTokens((claims) => claims, { foreignKey: true });
    try {
      await expectRefusal(() => b.get(answer), { status: 401, code: 'FEDERATION_FAILED', reason: 'signature-invalid' });
    } finally {
      google.tamperIdTokens(null);
    }
  });

  it('refuses an address the provider does not vouch for with 403 EMAIL_NOT_VERIFIED, naming it in the history', async () => {
    const someone = person({ email_verified: false });
    const { b, answer } = await answered(someone.sub);
    await expectRefusal(() => b.get(answer), {
      status: 403,
      code: 'EMAIL_NOT_VERIFIED',
      reason: 'provider-email-unverified',
      email: someone.email,
    });
  });
});
