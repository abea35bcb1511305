/**
 * `npm start` as a newcomer runs it: no DATABASE_URL, no REDIS_URL, an empty data directory. It
 * must initialise embedded PostgreSQL, serve health within 30 s, and stop cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.js';

// Outside the project (tests write nothing into .data/). As root, PostgreSQL runs as another user and
// must traverse the directory, which mkdtemp makes private: open it up.
const dataDir = mkdtempSync(path.join(tmpdir(), 'tenant-api-start-'));
chmodSync(dataDir, 0o755);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// The start script itself, exec'd so that signals reach the server rather than npm.
const startScript: string = JSON.parse(readFileSync('package.json', 'utf8')).scripts.start;
const npmStart = (env: NodeJS.ProcessEnv) =>
  spawn('sh', ['-c', `exec ${startScript}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });

describe('npm start on a fresh machine', () => {
  it('serves health from embedded PostgreSQL within 30 s and exits cleanly on SIGTERM', {
    timeout: 60_000,
  }, async () => {
    // PORT=0: the server picks a free port and logs it, so no other test's server can be mistaken for it.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: '0',
      DATA_DIR: dataDir,
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
    };
    // What a fresh machine has not got (and what Vite puts in the environment).
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'BASE_URL', 'NODE_ENV']) delete env[name];
    const child = npmStart(env);
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    const started = Date.now();
    let health: any;
    let running = true;
    void exited.then(() => (running = false));
    while (running && Date.now() - started < 30_000) {
      const port = /"msg":"listening"/.test(output)
        ? /"port":(\d+)/.exec(output.slice(output.indexOf('"msg":"listening"') - 200))?.[1]
        : undefined;
      try {
        if (!port) throw new Error('not listening yet');
        const res = await fetch(`http://127.0.0.1:${port}/api/public/health`);
        health = await res.json();
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    expect(health, output).toMatchObject({
      success: true,
      data: { status: 'ok', checks: { database: 'ok', redis: 'disabled' } },
    });
    expect(readdirSync(path.join(dataDir, 'postgres'))).toContain('PG_VERSION');
    expect(output).toContain('using embedded PostgreSQL');
    expect(output).toContain('in-memory counters');

    const stopAt = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - stopAt).toBeLessThan(10_000);
    expect(output).toContain('stopped');
  });

  it('refuses to start with a bad variable, naming it', async () => {
    const child = npmStart({ ...process.env, BASE_URL: '', PORT: 'x', LOG_LEVEL: 'loud' });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('PORT:');
    expect(stderr).toContain('LOG_LEVEL:');
  });
});
