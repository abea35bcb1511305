/**
 * The README's OAuth partner walk-through, run as written: the shell blocks between the markers
 * `<!-- readme-test: oauth-partner -->` and `<!-- /readme-test: oauth-partner -->` are run by bash
 * against the service on a real port, signed in as a verified user, with the variables the script
 * reads (BASE_URL, EMAIL, PASSWORD) and nothing else of the runner's environment. It must run to the
 * end (exit 0) having refreshed: a second token answer with a new refresh token, and the API accepting
 * the access token that came with it.
 *
 * Stricter than a reader's shell, so that no step can fail unnoticed: errexit, nounset and pipefail
 * (and xtrace, so that a failure names its command), and curl (the one on PATH, as the reader has it)
 * fails on an HTTP error, showing the answer.
 */
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { PASSWORD, signUp, uniqueEmail, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../README.md');
const MARKER = 'readme-test: oauth-partner';

/** The shell blocks between the markers, joined in order. */
function markedShell(markdown: string, marker: string): string {
  const start = markdown.indexOf(`<!-- ${marker} -->`);
  const end = markdown.indexOf(`<!-- /${marker} -->`);
  if (start < 0 || end < start)
    throw new Error(`README.md has no "<!-- ${marker} -->" … "<!-- /${marker} -->" section around the script to test`);
  const blocks = [...markdown.slice(start, end).matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  if (blocks.length === 0) throw new Error(`README.md's "${marker}" section holds no \`\`\`sh block`);
  return blocks.join('\n');
}

/** Where an executable is on PATH, or undefined. */
function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The JSON objects the script printed, in order: curl prints answers without a newline, so they can
 * run into each other and into other text on a line.
 */
function jsonObjects(output: string): Record<string, any>[] {
  const found: Record<string, any>[] = [];
  for (let start = output.indexOf('{'); start >= 0; start = output.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < output.length; i++) {
      const c = output[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        try {
          found.push(JSON.parse(output.slice(start, i + 1)) as Record<string, any>);
          start = i;
        } catch {
          // not JSON after all: look further on
        }
        break;
      }
    }
  }
  return found;
}

describe("the README's OAuth partner script", () => {
  let t: TestApp;
  let user: SignedUp;
  let work: string;

  beforeAll(async () => {
    const port = await freePort();
    t = await startTestApp({ port, env: { BASE_URL: `http://127.0.0.1:${port}` } });
    user = await signUp(t, { email: uniqueEmail('ada'), password: PASSWORD });
    work = mkdtempSync(path.join(tmpdir(), 'readme-oauth-partner-'));
  });
  afterAll(async () => {
    await t?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs to the end as written, and its refresh step gets a new refresh token the API accepts the access token of', async () => {
    const script = markedShell(readFileSync(README, 'utf8'), MARKER);
    const curl = onPath('curl');
    if (!curl) throw new Error('the README script needs curl on PATH (apt-get install curl)');

    // curl as the reader has it, but failing on an HTTP error (and showing the answer).
    const bin = path.join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'curl'), `#!/bin/sh\nexec ${JSON.stringify(curl)} --fail-with-body "$@"\n`);
    chmodSync(path.join(bin, 'curl'), 0o755);
    writeFileSync(path.join(work, 'script.sh'), script);

    const env: NodeJS.ProcessEnv = {
      PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
      HOME: work,
      TMPDIR: work,
      LANG: 'C.UTF-8',
      BASE_URL: t.services.config.baseUrl,
      EMAIL: user.email,
      PASSWORD: user.password,
    };
    // -x: on a failure, the trace in stderr names the command that failed.
    const result = await run('bash', ['-xeuo', 'pipefail', path.join(work, 'script.sh')], {
      cwd: work,
      env,
      timeoutMs: 60_000,
    });
    const transcript = `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
    expect(result.code, transcript).toBe(0);

    // The consent page listed offline access.
    expect(result.stdout, transcript).toContain('(offline_access)');
    // Two token answers, each with a refresh token: the code's, then the refresh's, which rotated it.
    const answers = jsonObjects(result.stdout);
    const tokenAnswers = answers.filter((body) => typeof body.access_token === 'string');
    expect(tokenAnswers, transcript).toHaveLength(2);
    const [first, refreshed] = tokenAnswers as [Record<string, any>, Record<string, any>];
    expect(first.refresh_token, transcript).toEqual(expect.any(String));
    expect(refreshed.refresh_token, transcript).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(first.refresh_token);
    expect(refreshed.access_token).not.toBe(first.access_token);
    // The script's last answer: the projects, read with the access token the refresh brought.
    expect(answers.at(-1), transcript).toMatchObject({ success: true, status: 200 });
  }, 90_000);
});
