/**
 * Child processes for tests that need real ones (the fault suite, the drain test): a redis-server of
 * a test's own and instances of the service started exactly as `npm start` starts it (its script from package.json, on the node running the suite).
 * Every child's output is kept for failure diagnostics, and every child still running is killed by
 * `killAllChildren`, when the test process exits, or, should it be killed itself, by a reaper.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const OUTPUT_LIMIT = 1_000_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One run of a child process: its output so far and how it ended. */
export interface ChildRun {
  label: string;
  process: ChildProcess;
  output(): string;
  /** Settles when the process has exited. */
  exited: Promise<Exit>;
  /** Undefined while the process runs. */
  exit?: Exit;
}

const allRuns: ChildRun[] = [];
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Should this process die without running its hooks (killed by a timeout, SIGKILLed), a reaper of
 * its own, detached and told each child's pid on its stdin, SIGKILLs the children it was told of
 * when that stdin closes. It exits with this process in every case.
 */
const REAPER = `
const pids = new Set();
let pending = '';
process.stdin.on('data', (chunk) => {
  pending += chunk;
  const lines = pending.split('\\n');
  pending = lines.pop();
  for (const line of lines) (line[0] === '+' ? pids.add(Number(line.slice(1))) : pids.delete(Number(line.slice(1))));
});
process.stdin.on('end', () => {
  for (const pid of pids) try { process.kill(pid, 'SIGKILL'); } catch {}
  process.exit(0);
});
`;
let reaper: ChildProcess | undefined;
function tellReaper(line: string): void {
  if (!reaper) {
    reaper = spawn(process.execPath, ['-e', REAPER], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    reaper.unref();
    reaper.stdin?.on('error', () => {});
    (reaper.stdin as unknown as { unref(): void }).unref();
  }
  reaper.stdin?.write(`${line}\n`);
}

function spawnChild(label: string, command: string, args: string[], env: NodeJS.ProcessEnv): ChildRun {
  const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  if (child.pid) tellReaper(`+${child.pid}`);
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > OUTPUT_LIMIT) output = `…${output.slice(-OUTPUT_LIMIT / 2)}`;
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const run: ChildRun = {
    label,
    process: child,
    output: () => output,
    exited: new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        if (child.pid) tellReaper(`-${child.pid}`);
        run.exit = { code, signal };
        resolve(run.exit);
      });
      child.once('error', (error) => {
        append(Buffer.from(`[spawn error] ${error.message}\n`));
        running.delete(child);
        run.exit = { code: null, signal: null };
        resolve(run.exit);
      });
    }),
  };
  allRuns.push(run);
  return run;
}

/** SIGKILLs every child still running and waits for them to be gone. */
export async function killAllChildren(): Promise<void> {
  const runs = allRuns.filter((run) => !run.exit);
  for (const run of runs) run.process.kill('SIGKILL');
  await Promise.all(runs.map((run) => run.exited));
}

/** Every child this process started, how it ended and the tail of its output. */
export function childDiagnostics(tailChars = 6000): string {
  return allRuns
    .map((run) => {
      const state = run.exit ? `exited code=${run.exit.code} signal=${run.exit.signal}` : 'running';
      const output = run.output();
      const tail = output.length > tailChars ? `…${output.slice(-tailChars)}` : output;
      return `----- ${run.label} (pid ${run.process.pid}, ${state}) -----\n${tail}`;
    })
    .join('\n');
}

/** Writes every child's whole output to `dir`, one file per run; returns the files. */
export function saveChildOutputs(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return allRuns.map((run, index) => {
    const file = path.join(dir, `${String(index + 1).padStart(2, '0')}-${run.label.replace(/[^\w.-]+/g, '_')}.log`);
    writeFileSync(file, run.output());
    return file;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `ready` until it resolves true; fails early when `run` exits, or after `timeoutMs`. */
async function waitUntilReady(run: ChildRun, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (run.exit)
      throw new Error(
        `${run.label} exited (code ${run.exit.code}, signal ${run.exit.signal}) before it was ready:\n${run.output()}`,
      );
    if (await ready().catch(() => false)) return;
    await sleep(150);
  }
  throw new Error(`${run.label} was not ready within ${timeoutMs} ms:\n${run.output()}`);
}

/** Sends a signal and waits for the exit; SIGKILLs after `timeoutMs` so that nothing hangs. */
async function stopRun(run: ChildRun, signal: NodeJS.Signals, timeoutMs: number): Promise<Exit & { forced: boolean }> {
  if (run.exit) return { ...run.exit, forced: false };
  run.process.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([run.exited, timedOut]);
  clearTimeout(timer);
  if (outcome !== 'timeout') return { ...outcome, forced: false };
  run.process.kill('SIGKILL');
  return { ...(await run.exited), forced: true };
}

/** A minimal environment for children: nothing of the test runner's leaks into them. */
function baseEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TZ']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return env;
}

/** Answers true when a Redis server on `port` replies +PONG to PING. */
function redisAnswersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const finish = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  /** Starts redis-server on the port (again, after a kill) and waits until it answers. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown, no goodbye to its clients. */
  kill(): Promise<void>;
}

/** A throw-away redis-server: no persistence, its working directory in `dir`. */
export function redisServer(port: number, dir: string): RedisServer {
  let run: ChildRun | undefined;
  let starts = 0;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      starts += 1;
      run = spawnChild(
        `redis-server #${starts} :${port}`,
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--logfile',
          '',
        ],
        baseEnvironment(),
      );
      await waitUntilReady(run, () => redisAnswersPing(port), 10_000);
    },
    async kill() {
      if (run) await stopRun(run, 'SIGKILL', 5000);
    },
  };
}

export interface ServiceInstance {
  name: string;
  port: number;
  url: string;
  /** The current (or last) run. */
  readonly run: ChildRun | undefined;
  /** Starts the service and waits until its health answers 200. */
  start(): Promise<void>;
  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`, reported as `forced`). */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<Exit & { forced: boolean }>;
}

/** `npm start`'s command, run on this node so that a suite run under another node tests that one. */
function startCommand(): { command: string; args: string[] } {
  const script: string = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).scripts.start;
  const [program, ...args] = script.trim().split(/\s+/);
  if (program !== 'node')
    throw new Error(`npm start is no longer "node …" (${script}): update tests/support/processes.ts`);
  return { command: process.execPath, args };
}

/** One instance of the service on a fixed port, restartable on that port. */
export function serviceInstance(name: string, port: number, env: Record<string, string>): ServiceInstance {
  const { command, args } = startCommand();
  let run: ChildRun | undefined;
  let starts = 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    name,
    port,
    url,
    get run() {
      return run;
    },
    async start() {
      starts += 1;
      run = spawnChild(`instance ${name} #${starts} :${port}`, command, args, {
        ...baseEnvironment(),
        ...env,
        PORT: String(port),
        HOST: '127.0.0.1',
      });
      const current = run;
      await waitUntilReady(
        current,
        async () => {
          const response = await fetch(`${url}/api/public/health`, { signal: AbortSignal.timeout(2000) });
          await response.arrayBuffer();
          return response.status === 200;
        },
        60_000,
      );
    },
    stop(signal, timeoutMs) {
      if (!run) throw new Error(`instance ${name} was never started`);
      return stopRun(run, signal, timeoutMs);
    },
  };
}
