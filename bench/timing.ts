/**
 * `npm run bench:timing`: whether the routes that must reveal no account also take the same time for
 * a known and an unknown address. Not part of `npm test` (no timing assertions there: tests/auth/
 * abuse.test.ts checks the mechanisms instead, without a clock).
 *
 * The full app runs in a process of its own (bench/server.ts, as for `npm run bench`); from this one,
 * one request at a time, alternating a known and an unknown address (which of the two goes first
 * alternates too), after TIMING_WARMUP (5) of each:
 * - POST /api/auth/sign-in/email: a wrong password for an existing account, and an unknown email
 *   (both verify an argon2id hash, a dummy one for the unknown email);
 * - POST /api/auth/forgot-password and /api/auth/send-verification-email: an existing, unverified
 *   account and an unknown address (only the mail budget is spent before answering; the lookup and the
 *   mail follow). After each request the next waits for the known address's mail file and a short
 *   pause, so that what follows an answer does not slow the next sample down.
 *
 * Printed: the median of TIMING_SAMPLES (40) each, and the ratio known/unknown against the bounds the
 * tests used to assert (sign-in 0.6–1.6, with the unknown email above 3 ms: a hash is verified; mail
 * routes 0.75–1.33), as MET or NOT MET. A miss is printed, not an exit code, as in bench/run.ts; an
 * unexpected answer stops the run (exit code 1), since it would measure something else.
 *
 * Environment: DATABASE_URL (a fresh bench_<random> database on that cluster, dropped afterwards;
 * unset: the embedded PostgreSQL under DATA_DIR), REDIS_URL (unset: in-memory limits), TIMING_SAMPLES,
 * TIMING_WARMUP.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCleanups, envInt, runBenchmark, startBenchApp } from './lib.js';

const settings = { samples: envInt('TIMING_SAMPLES', 40), warmup: envInt('TIMING_WARMUP', 5) };
/** The pause after each request, for the work it left in the background (a lookup, at least). */
const SETTLE_MS = 20;
const PASSWORD = 'a timing benchmark passphrase';

const cleanups = createCleanups();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ghost = () => `ghost-${randomBytes(6).toString('hex')}@example.com`;

interface Route {
  name: string;
  path: string;
  body: (email: string) => unknown;
  status: number;
  code?: string;
  /** The known address gets a mail: wait for it before the next request. */
  mails: boolean;
  min: number;
  max: number;
  /** The unknown address's median must exceed this many ms (sign-in: a hash is verified). */
  unknownAboveMs?: number;
}

const routes: Route[] = [
  {
    name: 'sign-in (wrong password / unknown email)',
    path: '/api/auth/sign-in/email',
    body: (email) => ({ email, password: 'definitely wrong' }),
    status: 401,
    code: 'INVALID_CREDENTIALS',
    mails: false,
    min: 0.6,
    max: 1.6,
    unknownAboveMs: 3,
  },
  {
    name: 'forgot-password',
    path: '/api/auth/forgot-password',
    body: (email) => ({ email }),
    status: 200,
    mails: true,
    min: 0.75,
    max: 1.33,
  },
  {
    name: 'send-verification-email',
    path: '/api/auth/send-verification-email',
    body: (email) => ({ email }),
    status: 200,
    mails: true,
    min: 0.75,
    max: 1.33,
  },
];

async function post(url: string, body: unknown): Promise<{ status: number; code?: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { code?: string }).code;
  } catch {
    // not JSON: reported by the caller through the status
  }
  return { status: res.status, code, ms };
}

const mailFiles = (mailDir: string) => readdirSync(mailDir).filter((name) => name.endsWith('.eml')).length;

async function waitForMailFiles(mailDir: string, count: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (mailFiles(mailDir) >= count) return;
    await sleep(50);
  }
  throw new Error(`expected ${count} mail files in ${mailDir}, found ${mailFiles(mailDir)}`);
}

async function main(): Promise<void> {
  const { server, mailDir } = await startBenchApp(cleanups, 'timing', [
    'signUp',
    'signIn',
    'failedSignIn',
    'failedSignInEmail',
    'emailSend',
  ]);
  console.log(`${settings.samples} samples per address and route, after ${settings.warmup} warm-ups\n`);

  // The known address: an account whose address is not verified yet (send-verification-email mails it).
  const known = `timing-${randomBytes(6).toString('hex')}@example.com`;
  const signedUp = await post(`${server.url}/api/auth/sign-up/email`, { email: known, password: PASSWORD, name: 'T' });
  if (signedUp.status !== 201) throw new Error(`sign-up for the benchmark answered ${signedUp.status}`);
  let expectedMails = 1; // the sign-up's verification mail
  await waitForMailFiles(mailDir, expectedMails);

  const results = [];
  for (const route of routes) {
    const sample = async (email: string) => {
      const answer = await post(`${server.url}${route.path}`, route.body(email));
      if (answer.status !== route.status || (route.code !== undefined && answer.code !== route.code)) {
        throw new Error(
          `${route.path} answered ${answer.status} ${answer.code ?? ''} for ${email === known ? 'the known' : 'an unknown'} address; expected ${route.status} ${route.code ?? ''}`,
        );
      }
      if (route.mails && email === known) await waitForMailFiles(mailDir, ++expectedMails);
      await sleep(SETTLE_MS);
      return answer.ms;
    };
    for (let i = 0; i < settings.warmup; i++) {
      await sample(known);
      await sample(ghost());
    }
    const knownMs: number[] = [];
    const unknownMs: number[] = [];
    for (let i = 0; i < settings.samples; i++) {
      if (i % 2 === 0) {
        knownMs.push(await sample(known));
        unknownMs.push(await sample(ghost()));
      } else {
        unknownMs.push(await sample(ghost()));
        knownMs.push(await sample(known));
      }
    }
    results.push({ route, known: median(knownMs), unknown: median(unknownMs) });
  }

  const width = Math.max(...routes.map((r) => r.name.length));
  const line = (cells: string[]) =>
    console.log(cells.map((c, i) => (i === 0 ? c.padEnd(width) : c.padStart(13))).join('  '));
  line(['route', 'known p50 ms', 'unknown p50', 'known/unknown']);
  for (const { route, known: k, unknown: u } of results)
    line([route.name, k.toFixed(2), u.toFixed(2), (k / u).toFixed(2)]);
  console.log('');
  for (const { route, known: k, unknown: u } of results) {
    const ratio = k / u;
    const met = ratio > route.min && ratio < route.max;
    console.log(
      `${route.name}: known/unknown = ${ratio.toFixed(2)}; target ${route.min.toFixed(2)}–${route.max.toFixed(2)} ${met ? 'MET' : 'NOT MET'}`,
    );
    if (route.unknownAboveMs !== undefined) {
      console.log(
        `${route.name}: unknown median = ${u.toFixed(2)} ms; target > ${route.unknownAboveMs} ms (a hash is verified) ${u > route.unknownAboveMs ? 'MET' : 'NOT MET'}`,
      );
    }
  }
}

// A miss is printed, not an exit code: the run is valid whatever the ratios.
await runBenchmark('bench:timing', cleanups, () => main().then(() => true));
