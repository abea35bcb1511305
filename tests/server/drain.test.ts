/**
 * SIGTERM on the real process (`npm start` with DATABASE_URL set): a request whose body is still
 * arriving when the signal comes is answered in full and its row committed; new connections are
 * refused; a keep-alive connection is told `Connection: close` and closed after its answer; the
 * process logs "stopped" and exits 0 within SHUTDOWN_TIMEOUT_MS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisUrl } from '../support/app.js';
import type { ScratchDatabase } from '../support/databases.js';
import { ORIGIN, PASSWORD, uniqueEmail } from '../support/identity.js';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';

const SHUTDOWN_TIMEOUT_MS = 5000;

let database: ScratchDatabase;
let service: ServiceProcess;
const mailDir = mkdtempSync(path.join(tmpdir(), 'tenant-api-drain-mail-'));

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startServiceProcess({
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl() ?? '',
    MAIL_DIR: mailDir,
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    TRUSTED_ORIGINS: ORIGIN,
  });
});

afterAll(async () => {
  service?.kill();
  await database?.drop();
  rmSync(mailDir, { recursive: true, force: true });
});

/** A raw HTTP/1.1 connection: what it received, and whether the server has closed it. */
function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  const connected = new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  /** Resolves with the first complete answer on the connection (status, headers, body). */
  const answer = async () => {
    for (;;) {
      const end = received.indexOf('\r\n\r\n');
      if (end >= 0) {
        const [statusLine, ...lines] = received.slice(0, end).split('\r\n');
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const length = Number(headers['content-length'] ?? 0);
        if (received.length >= end + 4 + length) {
          return { status: Number(statusLine!.split(' ')[1]), headers, body: received.slice(end + 4, end + 4 + length) };
        }
      }
      await Promise.race([new Promise((resolve) => socket.once('data', resolve)), closed]);
      if (socket.destroyed && received.indexOf('\r\n\r\n') < 0) throw new Error(`connection closed without an answer: ${JSON.stringify(received)}`);
    }
  };
  return { socket, connected, closed, answer, isClosed: () => socket.destroyed || socket.readyState === 'closed' };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SIGTERM drains the real process', () => {
  it('finishes a half-sent write, refuses new connections, closes keep-alive ones, and exits 0', { timeout: 30_000 }, async () => {
    // An idle keep-alive connection, after one answer.
    const idle = connect(service.port);
    await idle.connected;
    idle.socket.write('GET /api/public/health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect((await idle.answer()).status).toBe(200);

    // A sign-up whose body is half-sent when the signal comes.
    const email = uniqueEmail('drain');
    const body = JSON.stringify({ email, password: PASSWORD, name: 'Drained Dora' });
    const half = Math.floor(body.length / 2);
    const writer = connect(service.port);
    await writer.connected;
    writer.socket.write(
      `POST /api/auth/sign-up/email HTTP/1.1\r\nHost: localhost\r\nOrigin: ${ORIGIN}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
    );
    await wait(300);

    const signalledAt = Date.now();
    service.child.kill('SIGTERM');
    await wait(300);

    // New connections are refused, and the idle keep-alive connection is gone.
    await expect(connect(service.port).connected).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await idle.closed;
    // The in-flight request is still being served.
    expect(writer.isClosed()).toBe(false);

    writer.socket.write(body.slice(half));
    const answer = await writer.answer();
    expect(answer.status, answer.body).toBe(201);
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body)).toMatchObject({ success: true, data: { user: { email } } });
    await writer.closed;

    expect(await service.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(service.output()).toContain('"msg":"stopped"');

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
