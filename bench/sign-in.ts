/**
 * `npm run bench:sign-in`: a storm of sign-ins with email and password, and whether the service stays
 * responsive through it. Password hashing (argon2id, 19 MiB, tens of ms of CPU each) runs on libuv's
 * thread pool; if it ever ran on the event loop, every other request would queue behind it, and the
 * health check's p99 is what would show it. Not part of `npm test`.
 *
 * The full app runs in a process of its own (bench/server.ts, as for `npm run bench`). SIGN_IN_USERS
 * (200) accounts are signed up first, SIGN_UP_CONCURRENCY (4) at a time. Then, from this process, with
 * autocannon: SIGN_IN_CONNECTIONS (10) connections sign in as fast as they are answered, each request
 * the next account in turn (right password: a session is created each time), while one more connection
 * asks GET /api/public/health HEALTH_RATE (50) times a second. SIGN_IN_WARMUP (3) seconds of that are
 * discarded, then SIGN_IN_SECONDS (15) are measured. The health check alone, before the storm, is shown
 * for comparison.
 *
 * Printed: sign-ins per second, their p50 and p99, the health check's p50 and p99 during the storm, and
 * the targets as MET or MISSED: at least 50 sign-ins a second (on 2 cores), the health check's p99
 * under 20 ms. A miss is printed, not an exit code (as in bench/run.ts); an answer other than 200 or a
 * connection error makes the run invalid (exit code 1), since it would measure something else.
 *
 * Environment: DATABASE_URL (a fresh bench_<random> database on that cluster, dropped afterwards;
 * unset: the embedded PostgreSQL under DATA_DIR), REDIS_URL (unset: in-memory limits), and the
 * variables above.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { createCleanups, envInt, runBenchmark, startBenchApp, type Child } from './lib.js';

const settings = {
  users: envInt('SIGN_IN_USERS', 200),
  signUpConcurrency: envInt('SIGN_UP_CONCURRENCY', 4),
  connections: envInt('SIGN_IN_CONNECTIONS', 10),
  healthRate: envInt('HEALTH_RATE', 50),
  warmupSeconds: envInt('SIGN_IN_WARMUP', 3),
  seconds: envInt('SIGN_IN_SECONDS', 15),
};
const TARGET_SIGN_INS_PER_SECOND = 50;
const TARGET_HEALTH_P99_MS = 20;
const PASSWORD = 'a sign-in benchmark passphrase';

const cleanups = createCleanups();

async function signUpAll(server: Child): Promise<string[]> {
  const tag = randomBytes(4).toString('hex');
  const emails = Array.from({ length: settings.users }, (_, i) => `storm-${tag}-${i}@example.com`);
  let next = 0;
  const worker = async () => {
    while (next < emails.length) {
      const email = emails[next++]!;
      const res = await fetch(`${server.url}/api/auth/sign-up/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: PASSWORD, name: 'Storm' }),
      });
      if (res.status !== 201) throw new Error(`sign-up of ${email} answered ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: settings.signUpConcurrency }, worker));
  return emails;
}

function load(options: autocannon.Options): { instance: autocannon.Instance; done: Promise<autocannon.Result> } {
  let instance!: autocannon.Instance;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(options, (error: unknown, result: autocannon.Result) =>
      error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result),
    );
  });
  cleanups.push(async () => instance.stop());
  return { instance, done };
}

const health = (server: Child, seconds: number) =>
  load({
    url: `${server.url}/api/public/health`,
    connections: 1,
    overallRate: settings.healthRate,
    duration: seconds,
  }).done;

/** The storm: sign-ins on `connections`, each the next account in turn, and the health check beside them. */
async function storm(server: Child, emails: string[], seconds: number) {
  let turn = 0;
  const signIns = load({
    url: server.url,
    connections: settings.connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/api/auth/sign-in/email',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ email: emails[turn++ % emails.length], password: PASSWORD }),
        }),
      },
    ],
  }).done;
  const [signIn, check] = await Promise.all([signIns, health(server, seconds)]);
  return { signIn, check };
}

/** Why a run measured something else than it means to, or undefined. */
function invalid(name: string, result: autocannon.Result): string | undefined {
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0)
    return `${name}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} answers other than 2xx`;
  return undefined;
}

async function main(): Promise<boolean> {
  const { server } = await startBenchApp(cleanups, 'sign-in', ['signUp', 'signIn', 'emailSend']);

  // Other work on the machine takes cores from the hashing: shown, since it changes every figure.
  console.log(`load average before the run: ${os.loadavg()[0]!.toFixed(2)}`);
  const started = performance.now();
  const emails = await signUpAll(server);
  console.log(`${emails.length} accounts signed up in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

  await health(server, 2); // warm-up: the first answers pay for JIT and connections
  const quiet = await health(server, 5);
  await storm(server, emails, settings.warmupSeconds);
  const { signIn, check } = await storm(server, emails, settings.seconds);
  const loadAfter = os.loadavg()[0]!;
  // Sign-ins still queued in the server when the load stopped finish before it is stopped.
  await sleep(3000);

  const signInsPerSecond = signIn['2xx'] / settings.seconds;
  const line = (cells: string[]) =>
    console.log(cells.map((c, i) => (i === 0 ? c.padEnd(34) : c.padStart(10))).join('  '));
  line(['', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'requests']);
  const row = (name: string, perSecond: number, result: autocannon.Result, count: number) =>
    line([
      name,
      perSecond.toFixed(1),
      ...[result.latency.p50, result.latency.p90, result.latency.p99, result.latency.max].map((ms) => ms.toFixed(0)),
      String(count),
    ]);
  row('health check, no load', quiet.requests.average, quiet, quiet.requests.total);
  row(`sign-in, ${settings.connections} connections`, signInsPerSecond, signIn, signIn['2xx']);
  row('health check, during the storm', check.requests.average, check, check.requests.total);
  console.log(`load average at the end of the storm: ${loadAfter.toFixed(2)}\n`);
  const verdict = (met: boolean) => (met ? 'MET' : 'MISSED');
  console.log(
    `sign-ins per second: ${signInsPerSecond.toFixed(1)}; target >= ${TARGET_SIGN_INS_PER_SECOND} ${verdict(signInsPerSecond >= TARGET_SIGN_INS_PER_SECOND)}`,
  );
  console.log(
    `health p99 during the storm: ${check.latency.p99.toFixed(2)} ms; target < ${TARGET_HEALTH_P99_MS} ms ${verdict(check.latency.p99 < TARGET_HEALTH_P99_MS)}`,
  );

  const problems = [
    invalid('health check, no load', quiet),
    invalid('sign-in', signIn),
    invalid('health check', check),
  ];
  for (const problem of problems.filter(Boolean)) console.error(`invalid run: ${problem}`);
  return problems.every((problem) => problem === undefined);
}

await runBenchmark('bench:sign-in', cleanups, main);
