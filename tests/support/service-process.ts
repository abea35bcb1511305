/**
 * The service as `npm start` runs it, in a child process of the test: the start script exec'd so
 * that signals reach the server itself, its log collected, its port read from the "listening" line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Everything the process wrote so far, stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (null when a signal ended it) once the process is gone. */
  exited: Promise<number | null>;
  /** SIGKILL if still running; for cleanup. */
  kill(): void;
}

const startScript: string = JSON.parse(readFileSync('package.json', 'utf8')).scripts.start;

export async function startServiceProcess(env: NodeJS.ProcessEnv, options = { startMs: 30_000 }): Promise<ServiceProcess> {
  const inherited = { ...process.env };
  // What vitest (Vite) puts in the environment is not the service's configuration.
  for (const name of ['BASE_URL', 'NODE_ENV', 'MODE', 'DEV', 'PROD', 'SSR']) delete inherited[name];
  const child = spawn('sh', ['-c', `exec ${startScript}`], { env: { ...inherited, PORT: '0', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };

  const started = Date.now();
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone && Date.now() - started < options.startMs) {
    const line = output.split('\n').find((l) => l.includes('"msg":"listening"'));
    const port = line ? Number(/"port":(\d+)/.exec(line)?.[1]) : undefined;
    if (port) return { child, port, url: `http://127.0.0.1:${port}`, output: () => output, exited, kill };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  kill();
  throw new Error(`the service did not start (${gone ? 'it exited' : `not listening after ${options.startMs} ms`}):\n${output}`);
}
