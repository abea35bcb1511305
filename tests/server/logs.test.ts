/**
 * No secret in the logs: an invitation token in a request path is logged as the route's pattern,
 * links in mail only at debug level, and database errors without the values of their statement.
 * Its format: readable lines for a person at a terminal in development, JSON everywhere else.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appRouter } from '../../procedures/index.js';
import { mergeRouters, publicProcedure, router } from '../../server/trpc.js';
import { createTestDatabase, startTestApp, type TestApp } from '../support/app.js';
import { postJson, signUp } from '../support/identity.js';
import { captureLog, type CapturedLog } from '../support/logs.js';

const SECRET = `secret-${randomBytes(8).toString('hex')}`;

/** A route whose statement fails in PostgreSQL, carrying SECRET as a parameter. */
const failing = router({
  failing: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/public/testing/failing-statement' }, message: 'Never' })
    .input(z.strictObject({}))
    .output(z.object({}))
    .mutation(async ({ ctx }) => {
      await ctx.em
        .getConnection()
        .execute('insert into users (id, email) values (?, ?)', ['01H00000000000000000000000', SECRET]);
      return {};
    }),
});

let captured: CapturedLog;
let t: TestApp;
beforeAll(async () => {
  captured = captureLog('debug');
  t = await startTestApp({
    router: mergeRouters(appRouter, failing),
    log: captured.log,
    env: { TRUST_PROXY: 'loopback' },
  });
});
afterAll(async () => {
  await t?.close();
});

const logged = () => captured.lines();

describe('the log', () => {
  it('shows a token-bearing path as its route pattern', async () => {
    const user = await signUp(t);
    const token = randomBytes(32).toString('base64url');
    await postJson(t, `/api/user/invites/${token}/accept`, {}, user.cookie);
    await expect.poll(() => logged().some((l) => l.url === '/api/user/invites/{token}/accept')).toBe(true);
    expect(captured.text()).not.toContain(token);
  });

  it('writes the links of mail only at debug level', async () => {
    const user = await signUp(t);
    await postJson(t, '/api/auth/forgot-password', { email: user.email });
    await t.services.mailer.idle();
    const withLinks = logged().filter((l) => JSON.stringify(l).includes('/reset-password?token='));
    expect(withLinks.length).toBeGreaterThan(0);
    for (const line of withLinks) expect(line.level).toBe(20);
    expect(
      logged().some((l) => l.level === 30 && l.subject === 'Reset your password' && typeof l.file === 'string'),
    ).toBe(true);
  });

  it('logs a failed statement without its values', async () => {
    const res = await postJson(t, '/api/public/testing/failing-statement', {});
    expect(res.body).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
    const errors = () => logged().filter((l) => l.level === 50 && l.err);
    await expect.poll(() => errors().length).toBeGreaterThan(0);
    expect(JSON.stringify(errors())).toContain('violates not-null constraint');
    expect(captured.text()).not.toContain(SECRET);
  });
});

describe('the log format', () => {
  it('is readable for a person at a terminal in development, and JSON in production', { timeout: 60_000 }, async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tenant-api-logs-'));
    const encryptionKey = randomBytes(32).toString('hex');
    const startScript: string = JSON.parse(readFileSync('package.json', 'utf8')).scripts.start;
    /** `npm start` on a pseudo-terminal (util-linux script), until it says it is listening. */
    const onTerminal = (env: Record<string, string>) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn('script', ['-qfec', `exec ${startScript}`, '/dev/null'], {
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            PORT: '0',
            DATABASE_URL: database.url,
            DATA_DIR: dataDir,
            ENCRYPTION_KEY: encryptionKey,
            LOG_LEVEL: 'info',
            ...env,
          },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let output = '';
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`not listening: ${output}`));
        }, 45_000);
        child.stdout.on('data', (chunk) => {
          output += chunk;
          if (/listening/.test(output)) {
            clearTimeout(timer);
            child.kill('SIGKILL');
            resolve(output);
          }
        });
      });
    try {
      const development = await onTerminal({ NODE_ENV: 'development' });
      expect(development).toMatch(/INFO.*listening/);
      expect(development).not.toContain('"msg":"listening"');
      const production = await onTerminal({ NODE_ENV: 'production' });
      expect(production).toContain('"msg":"listening"');
    } finally {
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
