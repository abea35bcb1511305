/**
 * What bench/run.ts measures against the full app, one after another on the same server. Each
 * target is first requested once and must answer 200 with `success: true`, so that a benchmark
 * never measures how fast the app refuses.
 *
 * An authenticated target (GET /api/user/me) gets `prepare`: it runs once against the fresh app
 * (sign up, sign in) and returns the headers to send (Cookie, Authorization).
 */
import { verificationToken } from './lib.js';

export interface Target {
  name: string;
  path: string;
  headers?: Record<string, string>;
  /** Runs once against the fresh app; returns the headers to send and, if it must change, the path. */
  prepare?: (
    baseUrl: string,
    mailDir: string,
  ) => Promise<{ headers: Record<string, string>; path?: string; organizationId?: string }>;
  /** Also measure bench/floor.ts (the same SELECT on raw pg) and compare; needs DATABASE_URL. */
  floorMinRatio?: number;
  /** Also measure a bare Express handler returning the same body (bench/bare.ts), and compare. */
  baseline?: boolean;
  /** The smallest full/bare throughput ratio the issue that added the target asks for. */
  minRatio?: number;
}

/** The Origin the benchmark's cookie-authenticated writes come from (trusted by bench/run.ts). */
export const BENCH_ORIGIN = 'http://bench.localhost';

/** Signs a fresh user up, verifies the address from the mailed link, and returns the session cookie. */
async function sessionCookie(baseUrl: string, mailDir: string): Promise<{ headers: Record<string, string> }> {
  const email = `bench-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  const res = await fetch(`${baseUrl}/api/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'a benchmark passphrase', name: 'Bench' }),
  });
  const cookie = res.headers
    .getSetCookie()
    .find((c) => c.startsWith('session='))
    ?.split(';')[0];
  if (res.status !== 201 || !cookie)
    throw new Error(`sign-up for the benchmark failed: ${res.status} ${await res.text()}`);
  const verified = await fetch(`${baseUrl}/api/auth/verify-email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: await verificationToken(mailDir, email) }),
  });
  if (verified.status !== 200) throw new Error(`verifying the benchmark's address failed: ${verified.status}`);
  return { headers: { cookie } };
}

/** A signed-in owner of an organization with 20 projects; the path lists them. */
async function organizationWithProjects(
  baseUrl: string,
  mailDir: string,
): Promise<{ headers: Record<string, string>; path: string; organizationId: string }> {
  const { headers } = await sessionCookie(baseUrl, mailDir);
  const json = (res: Response) => res.json() as Promise<{ data: Array<{ id: string }> }>;
  const organizations = await json(await fetch(`${baseUrl}/api/user/organizations`, { headers }));
  const organizationId = organizations.data[0]!.id;
  const write = { ...headers, 'content-type': 'application/json', origin: BENCH_ORIGIN };
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${baseUrl}/api/user/organizations/${organizationId}/projects`, {
      method: 'POST',
      headers: write,
      body: JSON.stringify({
        name: `Project ${i}`,
        website: 'https://example.com',
        description: 'A project of the benchmark',
      }),
    });
    if (res.status !== 201)
      throw new Error(`creating projects for the benchmark failed: ${res.status} ${await res.text()}`);
  }
  return { headers, path: `/api/user/organizations/${organizationId}/projects?limit=20`, organizationId };
}

/** The same organization, read with a personal access token (projects:read) instead of the cookie. */
async function projectsWithApiKey(baseUrl: string, mailDir: string) {
  const prepared = await organizationWithProjects(baseUrl, mailDir);
  const res = await fetch(`${baseUrl}/api/auth/api-key/create`, {
    method: 'POST',
    headers: { ...prepared.headers, 'content-type': 'application/json', origin: BENCH_ORIGIN },
    body: JSON.stringify({ name: 'bench', scopes: ['projects:read'] }),
  });
  const key = ((await res.json()) as { data?: { key?: string } }).data?.key;
  if (!key) throw new Error(`creating an API key for the benchmark failed: ${res.status}`);
  return { ...prepared, headers: { 'x-api-key': key } };
}

export const targets: Target[] = [
  { name: 'GET /api/public/health', path: '/api/public/health', baseline: true, minRatio: 0.5 },
  { name: 'GET /api/user/me (session)', path: '/api/user/me', prepare: sessionCookie, baseline: true, minRatio: 0.3 },
  {
    name: 'GET …/projects, 20 rows (session)',
    path: '/api/user/organizations/{organizationId}/projects?limit=20',
    prepare: organizationWithProjects,
    baseline: true,
    minRatio: 0.3,
  },
  {
    name: 'GET …/projects, 20 rows (X-Api-Key)',
    path: '/api/user/organizations/{organizationId}/projects?limit=20',
    prepare: projectsWithApiKey,
    baseline: true,
    floorMinRatio: 0.5,
  },
];
