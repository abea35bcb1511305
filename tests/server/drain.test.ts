/**
 * SIGTERM on the real process (`npm start` with DATABASE_URL set): a request whose body is still
 * arriving when the signal comes is answered in full and its row committed; new connections are
 * refused; an idle keep-alive connection is closed; the held request came over a keep-alive
 * connection, and its answer says `Connection: close` and its connection is closed after it (the
 * client asked for neither); the process logs "stopped" and exits 0 within SHUTDOWN_TIMEOUT_MS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisUrl } from '../support/app.js';
import type { ScratchDatabase } from '../support/databases.js';
import { holdRequest } from '../support/held-request.js';
import { ORIGIN, PASSWORD, uniqueEmail } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { killAllChildren, serviceInstance, type ServiceInstance } from '../support/processes.js';

const SHUTDOWN_TIMEOUT_MS = 5000;

let database: ScratchDatabase;
let service: ServiceInstance;
const dataDir = mkdtempSync(path.join(tmpdir(), 'tenant-api-drain-'));

beforeAll(async () => {
  database = await createTestDatabase();
  service = serviceInstance('drain', await freePort(), {
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl() ?? '',
    DATA_DIR: dataDir,
    MAIL_DIR: path.join(dataDir, 'mail'),
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    TRUSTED_ORIGINS: ORIGIN,
  });
  await service.start();
});

afterAll(async () => {
  await killAllChildren();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A keep-alive connection that has had one answer and sits idle; resolves `closed` when the server ends it. */
async function idleKeepAlive(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const answered = new Promise<string>((resolve) => socket.once('data', (chunk) => resolve(String(chunk))));
  socket.write('GET /api/public/health HTTP/1.1\r\nHost: localhost\r\n\r\n');
  return { firstLine: (await answered).split('\r\n')[0], closed };
}

const refused = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });

describe('SIGTERM drains the real process', () => {
  it('finishes a half-sent write, refuses new connections, closes keep-alive ones, and exits 0', {
    timeout: 30_000,
  }, async () => {
    const idle = await idleKeepAlive(service.port);
    expect(idle.firstLine).toBe('HTTP/1.1 200 OK');

    const email = uniqueEmail('drain');
    const held = await holdRequest(
      `${service.url}/api/auth/sign-up/email`,
      { origin: ORIGIN },
      JSON.stringify({ email, password: PASSWORD, name: 'Drained Dora' }),
      { keepAlive: true },
    );
    // Let the server take the headers in before the signal.
    await new Promise((resolve) => setTimeout(resolve, 200));

    const signalledAt = Date.now();
    const stopped = service.stop('SIGTERM', SHUTDOWN_TIMEOUT_MS + 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await refused(service.port)).toBe('ECONNREFUSED');
    await idle.closed;

    const reply = await held.finish();
    expect(reply.networkError).toBeUndefined();
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    // The client asked to keep the connection: closing it is the drain's doing.
    expect(reply.headers?.connection).toBe('close');
    expect(reply.body).toMatchObject({ success: true, data: { user: { email } } });
    await held.closed;

    expect(await stopped).toMatchObject({ code: 0, forced: false });
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(service.run?.output()).toContain('"msg":"stopped"');

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query('select email from users where email = $1', [email]);
      expect(rows).toEqual([{ email }]);
    } finally {
      await client.end();
    }
  });
});
