/**
 * What bench/run.ts measures against the full app, one after another on the same server. Each
 * target is first requested once and must answer 200 with `success: true`, so that a benchmark
 * never measures how fast the app refuses.
 *
 * An authenticated target (GET /api/user/me) gets `prepare`: it runs once against the fresh app
 * (sign up, sign in) and returns the headers to send (Cookie, Authorization).
 */
export interface Target {
  name: string;
  path: string;
  headers?: Record<string, string>;
  prepare?: (baseUrl: string) => Promise<Record<string, string>>;
  /** Also measure a bare Express handler returning the same body (bench/bare.ts), and compare. */
  baseline?: boolean;
  /** The smallest full/bare throughput ratio the issue that added the target asks for. */
  minRatio?: number;
}

/** Signs a fresh user up and returns their session cookie. */
async function sessionCookie(baseUrl: string): Promise<Record<string, string>> {
  const email = `bench-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  const res = await fetch(`${baseUrl}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'a benchmark passphrase', name: 'Bench' }),
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('session='))?.split(';')[0];
  if (res.status !== 201 || !cookie) throw new Error(`sign-up for the benchmark failed: ${res.status} ${await res.text()}`);
  return { cookie };
}

export const targets: Target[] = [
  { name: 'GET /api/public/health', path: '/api/public/health', baseline: true, minRatio: 0.5 },
  { name: 'GET /api/user/me (session)', path: '/api/user/me', prepare: sessionCookie, baseline: true, minRatio: 0.3 },
];
