/**
 * Fault injection (issue 10, point 5). Two instances of the service, each started as `npm start`
 * starts it, share a scratch database on the shared PostgreSQL (reached through a TCP relay of the
 * suite's own) and a redis-server of the suite's own, under bounded mixed load. Then, in sequence:
 * Redis is killed and restarted on the same port; PostgreSQL's connections are terminated and new
 * ones refused for a few seconds; one instance gets SIGTERM with requests in flight and is
 * restarted. Asserted: no 5xx at all while Redis is down, nothing but 503 envelopes while
 * PostgreSQL is, recovery within 10 s of each fault's end without a restart, no request lost at
 * SIGTERM, every 201 in the database and nothing refused in it, and rate limits still exact across
 * the two instances.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { freePort, startTcpProxy, type TcpProxy } from '../support/net.js';
import { holdRequest } from '../support/held-request.js';
import {
  Balancer,
  describeOutcome,
  isHealthy,
  isUnavailableEnvelope,
  Load,
  PUBLIC_ORIGIN,
  tally,
  type Outcome,
} from './load.js';
import {
  childDiagnostics,
  killAllChildren,
  redisServer,
  saveChildOutputs,
  serviceInstance,
  type RedisServer,
  type ServiceInstance,
} from '../support/processes.js';
import { ROOMY_PLANS } from '../support/plans.js';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) console.log('[faults] DATABASE_URL is unset: the fault-injection suite is skipped');

const CLIENTS = 14;
const REDIS_DOWN_MS = 4000;
const DATABASE_DOWN_MS = 4000;
/** The bound: all requests succeed again within 10 s of a fault's end. */
const RECOVERY_BOUND_MS = 10_000;
/** The sign-in budget, per client address, that the rate-limit check spends. */
const SIGN_IN_POINTS = 4;
const SIGN_IN_ATTEMPTS = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Terminates every backend connected to `database`, from an admin connection of its own. */
async function terminateBackends(database: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const result = await client.query<{ terminated: number }>(
      'select count(*) filter (where pg_terminate_backend(pid))::int as terminated from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    );
    return result.rows[0]?.terminated ?? 0;
  } finally {
    await client.end();
  }
}

/** Opens a new TCP connection to the port: 'accepted', or the error code (ECONNREFUSED once nothing listens). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Runs one query on the scratch database directly (not through the relay). */
async function queryScratch<T extends pg.QueryResultRow>(
  database: ScratchDatabase,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!adminUrl)('the service under faults', () => {
  const runId = randomBytes(4).toString('hex');
  let workDir: string;
  let database: ScratchDatabase | undefined;
  let relay: TcpProxy | undefined;
  let redis: RedisServer;
  let a: ServiceInstance;
  let b: ServiceInstance;
  let balancer: Balancer;
  let load: Load | undefined;
  /** Every request started before this has been judged by a phase; each phase judges from here on. */
  let judgedUntil = 0;
  let anyFailed = false;

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      anyFailed = true;
    });
  });

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'tenant-api-faults-'));
    mkdirSync(path.join(workDir, 'redis'));
    database = await createScratchDatabase(adminUrl!, 'faults');
    const cluster = new URL(adminUrl!);
    relay = await startTcpProxy({ host: cluster.hostname, port: Number(cluster.port || 5432) });
    const relayedUrl = new URL(database.url);
    relayedUrl.host = `127.0.0.1:${relay.port}`;

    redis = redisServer(await freePort(), path.join(workDir, 'redis'));
    await redis.start();

    const env: Record<string, string> = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      // One public URL for both, as behind a load balancer: the same issuer, cookie and trusted origin.
      BASE_URL: PUBLIC_ORIGIN,
      DATABASE_URL: relayedUrl.toString(),
      REDIS_URL: redis.url,
      RATE_LIMIT_PREFIX: `faults:${runId}`,
      // The load's clients each come from an address of their own, through X-Forwarded-For.
      TRUST_PROXY: 'loopback',
      DATA_DIR: path.join(workDir, 'data'),
      MAIL_DIR: path.join(workDir, 'mail'),
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      // The load must not run into the global budget; the sign-in budget is the one checked for exactness.
      RATE_LIMIT_GLOBAL_POINTS: '1000000',
      // The load creates projects without end: a catalogue whose project limit it never reaches.
      BILLING_PLANS: ROOMY_PLANS,
      RATE_LIMIT_SIGN_IN_POINTS: String(SIGN_IN_POINTS),
      RATE_LIMIT_SIGN_IN_DURATION: '600',
    };
    a = serviceInstance('a', await freePort(), env);
    b = serviceInstance('b', await freePort(), env);
    // One after the other: the first applies the migrations to the empty database.
    await a.start();
    await b.start();

    balancer = new Balancer([a, b]);
    load = new Load(balancer, { clients: CLIENTS, mailDir: env.MAIL_DIR! });
    await load.prepare();
    load.start();
    judgedUntil = Date.now();
  });

  afterAll(async () => {
    try {
      await load?.stop();
    } finally {
      await killAllChildren();
      if (anyFailed) {
        // Kept after the run: the whole output of every child, for the diagnosis.
        const logs = mkdtempSync(path.join(tmpdir(), 'tenant-api-faults-logs-'));
        saveChildOutputs(logs);
        console.error(
          `[faults] the children's whole output is in ${logs}; the end of each:\n${childDiagnostics(3000)}`,
        );
      }
      await relay?.close();
      await database?.drop();
      if (workDir) rmSync(workDir, { recursive: true, force: true });
    }
  });

  /** One line per phase in the run's output: how much load it saw and what was not a full answer. */
  function report(phase: string, outcomes: Outcome[], extra: Record<string, unknown> = {}): void {
    const perInstance: Record<string, number> = {};
    for (const o of outcomes) perInstance[o.instance] = (perInstance[o.instance] ?? 0) + 1;
    const partial = tally(outcomes.filter((o) => !isHealthy(o)));
    console.log(
      `[faults] ${phase}: requests per instance ${JSON.stringify(perInstance)}, ${JSON.stringify(extra)}, not full answers ${JSON.stringify(partial)}`,
    );
  }

  /** What the load got for the requests started since the last phase's window, once they have all ended. */
  async function nextWindow(): Promise<Outcome[]> {
    const until = Date.now();
    const outcomes = await load!.startedBetween(judgedUntil, until);
    judgedUntil = until;
    return outcomes;
  }

  /** Spends the sign-in budget of `ip` (unused so far) with concurrent sign-ins alternating between the instances. */
  async function spendSignInBudget(ip: string): Promise<number[]> {
    const { email, password } = load!.someAccount;
    const answers = await Promise.all(
      Array.from({ length: SIGN_IN_ATTEMPTS }, async (_, i) => {
        const instance = i % 2 === 0 ? a : b;
        const response = await fetch(`${instance.url}/api/auth/sign-in/email`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
          body: JSON.stringify({ email, password }),
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    return answers.sort((x, y) => x - y);
  }

  async function redisCheckOf(instance: ServiceInstance): Promise<string | undefined> {
    const response = await fetch(`${instance.url}/api/public/health`);
    return ((await response.json()) as { data?: { checks?: { redis?: string } } }).data?.checks?.redis;
  }

  const expectedBudgetSpend = [
    ...Array(SIGN_IN_POINTS).fill(200),
    ...Array(SIGN_IN_ATTEMPTS - SIGN_IN_POINTS).fill(429),
  ];

  it('serves the mixed load on both instances, and counts one sign-in budget across them', async () => {
    await sleep(3000);
    const outcomes = await nextWindow();
    report('no fault', outcomes);
    expect(tally(outcomes.filter((o) => !isHealthy(o)))).toEqual({});
    for (const instance of [a, b]) expect(outcomes.some((o) => o.instance === instance.name)).toBe(true);
    expect(await spendSignInBudget('10.99.0.1')).toEqual(expectedBudgetSpend);
  });

  it('answers no 5xx while Redis is down, and uses Redis again within 10 s of its return', async () => {
    const faultStartedAt = Date.now();
    await redis.kill();
    await sleep(REDIS_DOWN_MS);
    await redis.start();
    const faultEndedAt = Date.now();

    const recovery = await load!.awaitRecovery(faultEndedAt, RECOVERY_BOUND_MS);
    const phase = await nextWindow();
    report('Redis killed and restarted', phase, {
      downMs: faultEndedAt - faultStartedAt,
      recoveryMs: recovery.recoveryMs,
    });
    const during = phase.filter((o) => o.startedAt < faultEndedAt);
    // The fault took effect: health said so while Redis was down.
    expect(during.some((o) => o.kind === 'health' && o.body?.data?.checks?.redis === 'down')).toBe(true);
    // No 5xx, nothing failed at the network level, and nothing refused: only health may say "degraded".
    expect(tally(phase.filter((o) => o.status === undefined || o.status >= 500))).toEqual({});
    expect(
      tally(phase.filter((o) => !isHealthy(o) && !(o.kind === 'health' && o.body?.data?.status === 'degraded'))),
    ).toEqual({});
    expect(
      recovery.recoveryMs,
      `last unhealthy answers: ${JSON.stringify(recovery.unhealthy.slice(-5).map(describeOutcome))}`,
    ).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
    expect(recovery.healthyAfter).toBeGreaterThan(0);
    expect([a.run?.exit, b.run?.exit]).toEqual([undefined, undefined]);
  });

  it('answers only 503 envelopes while PostgreSQL is unreachable, and recovers within 10 s of its return', async () => {
    const faultStartedAt = Date.now();
    await relay!.refuseNew();
    const terminated = await terminateBackends(database!.name);
    const cutByRelay = relay!.openConnections;
    relay!.cutAll();
    await sleep(DATABASE_DOWN_MS);
    await relay!.restore();
    const faultEndedAt = Date.now();

    const recovery = await load!.awaitRecovery(faultEndedAt, RECOVERY_BOUND_MS);
    const phase = await nextWindow();
    report('PostgreSQL connections terminated and refused', phase, {
      terminated,
      cutByRelay,
      downMs: faultEndedAt - faultStartedAt,
      recoveryMs: recovery.recoveryMs,
    });
    // The fault took effect: there were backends to terminate, and the database's absence was reported.
    expect(terminated).toBeGreaterThan(0);
    expect(phase.some(isUnavailableEnvelope)).toBe(true);
    // No 5xx but the 503 envelope, and nothing failed at the network level.
    expect(
      tally(phase.filter((o) => o.status === undefined || (o.status >= 500 && !isUnavailableEnvelope(o)))),
    ).toEqual({});
    // Nor a 4xx: the load's requests are all valid, an outage must not turn them into refusals.
    expect(tally(phase.filter((o) => o.status !== undefined && o.status >= 400 && o.status < 500))).toEqual({});
    expect(
      recovery.recoveryMs,
      `last unhealthy answers: ${JSON.stringify(recovery.unhealthy.slice(-5).map(describeOutcome))}`,
    ).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
    expect(recovery.healthyAfter).toBeGreaterThan(0);
    expect([a.run?.exit, b.run?.exit]).toEqual([undefined, undefined]);
  });

  it('drains an instance on SIGTERM under load: in-flight requests complete, new ones go to the other, none fails', async () => {
    const { organizationId, cookie, ip } = load!.clientIdentity(0);
    const names = [0, 1, 2].map((k) => `${load!.projectPrefix}held-${k}`);
    const held = await Promise.all(
      names.map((name) =>
        holdRequest(
          `${a.url}/api/user/organizations/${organizationId}/projects`,
          { origin: PUBLIC_ORIGIN, cookie, 'x-forwarded-for': ip },
          JSON.stringify({ name }),
        ),
      ),
    );
    // Let the instance read the held requests' headers: they are in flight from now on.
    await sleep(200);

    // A rolling deploy: the balancer stops sending new requests to the instance as it is signalled.
    balancer.remove(a);
    const signalledAt = Date.now();
    const stopped = a.stop('SIGTERM', 20_000);
    await sleep(300);
    const newConnection = await tryConnect(a.port);
    const replies = await Promise.all(held.map((request) => request.finish()));
    const exit = await stopped;
    names.forEach((name, k) => {
      const reply = replies[k]!;
      load!.record({
        kind: 'create',
        instance: 'a (held)',
        startedAt: signalledAt,
        endedAt: Date.now(),
        projectName: name,
        status: reply.status,
        body: reply.body,
        networkError: reply.networkError,
      });
    });

    await a.start();
    const restartedAt = Date.now();
    balancer.add(a);
    await sleep(2000);
    // The load ends here: this window judges every request up to its last.
    await load!.stop();
    const phase = await nextWindow();
    const loadInFlightAtSignal = phase.filter(
      (o) => o.instance === 'a' && o.startedAt <= signalledAt && o.endedAt >= signalledAt,
    ).length;
    report('SIGTERM and restart of a', phase, {
      loadInFlightAtSignal,
      newConnection,
      held: replies.map((r) => r.status ?? r.networkError),
      exit,
      rerouted: Object.fromEntries(balancer.rerouted),
    });

    expect(newConnection).toBe('ECONNREFUSED');
    expect(replies.map((r) => r.status ?? r.networkError)).toEqual([201, 201, 201]);
    expect({ code: exit.code, signal: exit.signal, forced: exit.forced }).toEqual({
      code: 0,
      signal: null,
      forced: false,
    });
    expect(tally(phase.filter((o) => !isHealthy(o)))).toEqual({});
    expect(phase.some((o) => o.instance === 'a' && o.startedAt >= restartedAt && isHealthy(o))).toBe(true);
  });

  it('keeps every project that was answered 201, and none that was refused', async () => {
    await load!.stop();
    const creates = load!.outcomes.filter((o) => o.kind === 'create');
    const rows = await queryScratch<{ name: string; copies: number }>(
      database!,
      'select name, count(*)::int as copies from projects where name like $1 group by name',
      [`${load!.projectPrefix}%`],
    );
    const stored = new Map(rows.map((row) => [row.name, row.copies]));
    const acknowledged = creates.filter((o) => o.status === 201);
    const refused = creates.filter((o) => o.status !== undefined && o.status !== 201);
    const attempted = new Set(creates.map((o) => o.projectName));
    console.log(
      `[faults] creates: ${acknowledged.length} answered 201, ${refused.length} refused, ${creates.length - acknowledged.length - refused.length} without an answer; ${rows.length} rows`,
    );

    expect(acknowledged.length).toBeGreaterThan(0);
    expect(acknowledged.filter((o) => !stored.has(o.projectName!)).map((o) => o.projectName)).toEqual([]);
    // A refusal whose row committed anyway is a ghost write: a retry would duplicate it.
    expect(
      refused.filter((o) => stored.has(o.projectName!)).map((o) => `${o.projectName}: ${describeOutcome(o)}`),
    ).toEqual([]);
    expect(rows.filter((row) => row.copies !== 1 || !attempted.has(row.name))).toEqual([]);
  });

  it('still counts one sign-in budget across both instances after the faults', async () => {
    // Both instances are back on Redis (the restarted one from its start).
    await expect
      .poll(async () => [await redisCheckOf(a), await redisCheckOf(b)], { timeout: RECOVERY_BOUND_MS, interval: 200 })
      .toEqual(['ok', 'ok']);
    expect(await spendSignInBudget('10.99.0.2')).toEqual(expectedBudgetSpend);
  });
});
