/**
 * Embedded PostgreSQL as `npm start` meets it (no DATABASE_URL), with real processes: a second start
 * on a cluster in use says why in one line and leaves the first alone; the postmaster dies with a
 * SIGKILLed service; a postmaster orphaned by a service that died with its watchdog is stopped by the
 * next start; as root, a project and DATA_DIR inside a mode-700 folder work; the start log names the
 * database and the migrations applied, never the password. Linux only (it reads /proc).
 *
 * Every test has a DATA_DIR of its own under the system's temporary folder and an embedded port of its
 * own; every child still running is killed after the file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, it } from 'vitest';
import { createTestDatabase } from '../support/app.js';
import { freePort } from '../support/net.js';
import { PROJECT_ROOT, childDiagnostics, killAllChildren, serviceInstance } from '../support/processes.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  await killAllChildren();
  for (const cleanup of cleanups.reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch((error: unknown) => console.error('cleanup failed:', error));
});

/** A DATA_DIR of the test's own, outside the project; open to the postgres user unless `mode` says otherwise. */
function newDataDir(mode = 0o755): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenant-api-embedded-'));
  chmodSync(dir, mode);
  cleanups.push(async () => {
    await stopPostmastersOf(path.join(dir, 'postgres'));
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** An `npm start` without DATABASE_URL on `dataDir`, on an embedded port of its own unless given one. */
async function embeddedService(name: string, dataDir: string, embeddedPort?: number) {
  const port = embeddedPort ?? (await freePort());
  const service = serviceInstance(name, await freePort(), {
    DATA_DIR: dataDir,
    EMBEDDED_POSTGRES_PORT: String(port),
    LOG_LEVEL: 'info',
  });
  return Object.assign(service, { embeddedPort: port });
}

const postmasterPid = (dataDir: string) =>
  Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);

/** Alive and not a zombie, as /proc says. */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function diesWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isRunning(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  return !isRunning(pid);
}

/** Processes whose command line contains every one of `words`. */
function processesWith(...words: string[]): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return words.every((word) => args.includes(word));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The lines a person reads on the terminal: not the JSON log, not Node 20's oidc-provider warning. */
const terminalLines = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('{') && !line.includes('Unsupported runtime'));

const startLog = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, any>)
    .find((entry) => String(entry.msg).startsWith('using database'));

/** A safety net should a test fail half-way: no postmaster outlives the file (immediate shutdown). */
async function stopPostmastersOf(cluster: string): Promise<void> {
  for (const pid of processesWith('-D', cluster)) {
    process.kill(pid, 'SIGQUIT');
    await diesWithin(pid, 5000);
  }
}

/** A URL carrying a user and a password. */
const CREDENTIALS_IN_URL = /\/\/[^/\s"@]+:[^/\s"@]+@/;

const healthy = async (url: string) => (await fetch(`${url}/api/public/health`)).status;

// Concurrent: each test waits mostly on processes starting, and nothing is shared between them.
describe.skipIf(process.platform !== 'linux')('embedded PostgreSQL', { concurrent: true, timeout: 90_000 }, () => {
  afterEach(({ task }) => {
    if (task.result?.state === 'fail') console.error(childDiagnostics());
  });

  it('refuses a second start on a cluster in use in one line, exit 1, and the first keeps serving', async ({
    expect,
  }) => {
    const dataDir = newDataDir();
    const first = await embeddedService('first', dataDir);
    await first.start();
    const pid = postmasterPid(dataDir);

    const second = await embeddedService('second', dataDir, first.embeddedPort);
    await expect(second.start()).rejects.toThrow(/exited \(code 1/);
    const lines = terminalLines(second.run!.output());
    expect(lines).toEqual([
      expect.stringMatching(
        /^Failed to start: embedded PostgreSQL in .* is in use by another running instance of this service \(PID \d+\): stop that one/,
      ),
    ]);
    expect(lines[0]).toContain(`(PID ${first.run!.process.pid})`);

    expect(await healthy(first.url)).toBe(200);
    expect(postmasterPid(dataDir)).toBe(pid);
    expect(isRunning(pid)).toBe(true);
    expect(await first.stop('SIGTERM', 10_000)).toMatchObject({ code: 0, forced: false });
    expect(await diesWithin(pid, 5000)).toBe(true);
  });

  it('stops the postmaster within seconds when the service is SIGKILLed, and its watchdog with it', async ({
    expect,
  }) => {
    const dataDir = newDataDir();
    const service = await embeddedService('killed', dataDir);
    await service.start();
    const pid = postmasterPid(dataDir);

    await service.stop('SIGKILL', 5000);
    expect(await diesWithin(pid, 5000), `postmaster ${pid} still running`).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processesWith('embedded-postgres-watchdog', String(pid))).toEqual([]);
  });

  it('stops a postmaster orphaned by a service killed with its watchdog, then serves', async ({ expect }) => {
    const dataDir = newDataDir();
    const killed = await embeddedService('orphaning', dataDir);
    await killed.start();
    const orphan = postmasterPid(dataDir);
    // What the watchdog cannot prevent: it dies first (an OOM kill, kill -9 on every process).
    for (const watchdog of processesWith('embedded-postgres-watchdog', String(orphan)))
      process.kill(watchdog, 'SIGKILL');
    await killed.stop('SIGKILL', 5000);
    expect(isRunning(orphan), 'the postmaster should have been orphaned').toBe(true);
    cleanups.push(() => isRunning(orphan) && process.kill(orphan, 'SIGQUIT'));

    const next = await embeddedService('after the orphan', dataDir, killed.embeddedPort);
    await next.start();
    expect(await healthy(next.url)).toBe(200);
    expect(isRunning(orphan)).toBe(false);
    expect(postmasterPid(dataDir)).not.toBe(orphan);
    expect(next.run!.output()).toContain('stopping the embedded PostgreSQL left running by a service that is gone');
    expect(await next.stop('SIGTERM', 10_000)).toMatchObject({ code: 0, forced: false });
  });

  const isRoot = process.getuid?.() === 0;
  const canUnshare = isRoot && spawnSync('unshare', ['--mount', 'true']).status === 0;
  it.skipIf(!canUnshare)(
    'as root, runs with the project and DATA_DIR inside a mode-700 folder (like /root)',
    async ({ expect, onTestFailed }) => {
      // The project is bind-mounted inside the private folder in a mount namespace of the start's own,
      // so that PostgreSQL's binaries, under node_modules, are as unreachable for the postgres user as in /root.
      const privateDir = newDataDir(0o700);
      const project = path.join(privateDir, 'project');
      const dataDir = path.join(privateDir, 'data');
      mkdirSync(project);
      cleanups.push(async () => {
        // The cluster went where the postgres user reaches it; DATA_DIR/postgres links to it.
        const link = path.join(dataDir, 'postgres');
        if (!lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) return;
        await stopPostmastersOf(readlinkSync(link));
        rmSync(readlinkSync(link), { recursive: true, force: true });
      });
      const startScript: string = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).scripts
        .start;
      const child = spawn(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          `mount --bind "$0" "$1" && cd "$1" && exec ${startScript}`,
          PROJECT_ROOT,
          project,
        ],
        {
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            PORT: '0',
            DATA_DIR: dataDir,
            EMBEDDED_POSTGRES_PORT: String(await freePort()),
            LOG_LEVEL: 'info',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      onTestFailed(() => console.error(output));

      const deadline = Date.now() + 80_000;
      let listening: RegExpExecArray | null = null;
      while (!listening && child.exitCode === null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        listening = /"port":(\d+),[^\n]*"msg":"listening"/.exec(output);
      }
      expect(listening, output).not.toBeNull();
      expect(await healthy(`http://127.0.0.1:${listening![1]}`)).toBe(200);
      expect(terminalLines(output)).toEqual([]);
      expect(output).toContain('the postgres user cannot reach the PostgreSQL binaries');
      expect(lstatSync(path.join(dataDir, 'postgres')).isSymbolicLink()).toBe(true);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    },
  );

  it('logs the database (host, port, name) and the migrations applied, never the password', async ({ expect }) => {
    const dataDir = newDataDir();
    const embedded = await embeddedService('embedded log', dataDir);
    await embedded.start();
    const embeddedOutput = embedded.run!.output();
    const embeddedLog = startLog(embeddedOutput);
    expect(embeddedLog).toMatchObject({ database: { host: '127.0.0.1', port: embedded.embeddedPort, name: 'app' } });
    expect(embeddedLog?.migrations.applied).toBeGreaterThan(0);
    expect(embeddedLog?.migrations.applied).toBe(embeddedLog?.migrations.total);
    expect(embeddedOutput).not.toMatch(CREDENTIALS_IN_URL);
    await embedded.stop('SIGTERM', 10_000);

    // DATABASE_URL with a password: on a trust-authenticated server (the shared one) any password does.
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const url = new URL(database.url);
    if (!url.password) url.password = `never-logged-${process.pid}`;
    const service = serviceInstance('DATABASE_URL log', await freePort(), {
      DATABASE_URL: url.toString(),
      DATA_DIR: newDataDir(),
      LOG_LEVEL: 'info',
    });
    await service.start();
    const output = service.run!.output();
    expect(startLog(output)).toMatchObject({
      database: { host: url.hostname, port: Number(url.port || 5432), name: url.pathname.slice(1) },
      migrations: { applied: embeddedLog?.migrations.total, total: embeddedLog?.migrations.total },
    });
    expect(output).not.toContain(`:${url.password}@`);
    if (url.password.startsWith('never-logged-')) expect(output).not.toContain(url.password);
    expect(output).not.toMatch(CREDENTIALS_IN_URL);
    await service.stop('SIGTERM', 10_000);
  });
});
