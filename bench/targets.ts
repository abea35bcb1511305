/**
 * What bench/run.ts measures against the full app, one after another on the same server, and the floors
 * each is compared with. Each target is first requested once and must answer 200 with `success: true`,
 * so that a benchmark never measures how fast the app refuses.
 *
 * An authenticated target (GET /api/user/me) gets `prepare`: it runs once against the fresh app
 * (sign up, sign in) and returns the headers to send (Cookie, Authorization).
 */
import { verificationToken } from './lib.js';

/** What a floor is started with: the target's request and what the full app answered to it. */
export interface FloorContext {
  /** The route's path, without the query. */
  path: string;
  /** The full app's answer to the target's request. */
  body: string;
  /** The headers the benchmark sends (the floors get the same requests as the full app). */
  headers: Record<string, string>;
  organizationId?: string;
  /** The benchmark's database (DATABASE_URL's cluster). */
  databaseUrl?: string;
}

/**
 * A server that does the least a target needs, in a process of its own, started in the same run as
 * the full app; the full app's throughput is reported as a ratio to its.
 */
export interface Floor {
  name: string;
  script: string;
  /** The setting of the benchmark's environment it cannot do without; missing, the floor is skipped. */
  requires?: 'DATABASE_URL' | 'REDIS_URL';
  /** It reads the database: its database work is counted where the target's is. */
  readsDatabase?: boolean;
  env(context: FloorContext): Record<string, string | undefined>;
}

const echo = (context: FloorContext) => ({ BARE_PATH: context.path, BARE_BODY: context.body });

/** Express 5 with one handler returning the same JSON (bench/bare.ts). */
export const bareExpress: Floor = { name: 'bare Express', script: 'bench/bare.ts', env: echo };
/** The limit: a node:http handler returning the same JSON (bench/limit.ts). */
export const bareHttp: Floor = { name: 'bare node:http', script: 'bench/limit.ts', env: echo };
/** Express 5 answering the same JSON from one Redis GET of the cached session (bench/session-floor.ts). */
export const redisSession: Floor = {
  name: 'Redis session',
  script: 'bench/session-floor.ts',
  requires: 'REDIS_URL',
  env: (context) => ({ ...echo(context), FLOOR_COOKIE: context.headers.cookie }),
};
/** Express 5 with the list's SELECT on raw pg (bench/floor.ts). */
export const rawPg: Floor = {
  name: 'raw-pg floor',
  script: 'bench/floor.ts',
  requires: 'DATABASE_URL',
  readsDatabase: true,
  env: (context) => ({
    BARE_PATH: context.path,
    FLOOR_DATABASE_URL: context.databaseUrl,
    FLOOR_ORGANIZATION_ID: context.organizationId,
  }),
};

export interface Target {
  name: string;
  path: string;
  headers?: Record<string, string>;
  /** Runs once against the fresh app; returns the headers to send and, if it must change, the path. */
  prepare?: (
    baseUrl: string,
    mailDir: string,
  ) => Promise<{ headers: Record<string, string>; path?: string; organizationId?: string }>;
  /** The floors to measure, each with the smallest full/floor throughput ratio the issue asks for, if any. */
  floors: Array<{ floor: Floor; minRatio?: number }>;
  /**
   * Count the database work of the full app (and of floors that read the database) per request, against
   * these bounds; needs DATABASE_URL.
   */
  databaseWork?: { maxTransactions: number; maxRowsWritten: number };
}

/** The Origin the benchmark's cookie-authenticated writes come from (trusted by bench/run.ts). */
export const BENCH_ORIGIN = 'http://bench.localhost';

/** Signs a fresh user up, verifies the address from the mailed link, and returns the session cookie. */
export async function sessionCookie(baseUrl: string, mailDir: string): Promise<{ headers: Record<string, string> }> {
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

/** Issue 12's targets are stated for one run on Node 24, 50 connections, the Redis limiter on. */
export const targets: Target[] = [
  {
    name: 'GET /api/public/health',
    path: '/api/public/health',
    floors: [{ floor: bareExpress, minRatio: 0.5 }, { floor: bareHttp }],
  },
  {
    name: 'GET /api/user/me (session)',
    path: '/api/user/me',
    prepare: sessionCookie,
    floors: [{ floor: redisSession, minRatio: 0.6 }, { floor: bareExpress }, { floor: bareHttp }],
  },
  {
    name: 'GET …/projects, 20 rows (session)',
    path: '/api/user/organizations/{organizationId}/projects?limit=20',
    prepare: organizationWithProjects,
    floors: [{ floor: rawPg }, { floor: bareExpress }, { floor: bareHttp }],
  },
  {
    name: 'GET …/projects, 20 rows (X-Api-Key)',
    path: '/api/user/organizations/{organizationId}/projects?limit=20',
    prepare: projectsWithApiKey,
    floors: [{ floor: rawPg, minRatio: 0.6 }, { floor: bareExpress }, { floor: bareHttp }],
    databaseWork: { maxTransactions: 1, maxRowsWritten: 0 },
  },
];
