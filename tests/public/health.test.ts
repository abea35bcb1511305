import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../../procedures/index.js';
import { callerFor, createTestDatabase, startTestApp, type TestApp } from '../support/app.js';
import { startTcpProxy, type TcpProxy } from '../support/net.js';

describe('GET /api/public/health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('gives the same data through createCaller, REST and tRPC', async () => {
    const direct = await callerFor(t.services).public.health();
    const rest = await t.request('/api/public/health');
    const trpc = await createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${t.url}/trpc` })],
    }).public.health.query();

    expect(direct).toEqual({
      status: expect.stringMatching(/^(ok|degraded)$/),
      checks: expect.any(Object),
      version: '0.1.0',
    });
    expect(rest.body).toEqual({
      success: true,
      status: 200,
      code: 'OK',
      message: 'Service is healthy',
      data: direct,
      meta: {},
    });
    expect(trpc).toEqual(direct);
  });

  it('answers tRPC errors in tRPC shape with our code', async () => {
    const res = await fetch(`${t.url}/trpc/public.nothing`);
    const body: any = await res.json();
    expect(res.status).toBe(404);
    expect(body.error.data.code).toBe('NOT_FOUND');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });
});

describe('when the database is unreachable', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    const target = new URL(database.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(target);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    t = await startTestApp({ databaseUrl: viaProxy.toString() });
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
    await drop?.();
  });

  it('answers 503 SERVICE_UNAVAILABLE in the envelope, then recovers without a restart', async () => {
    expect((await t.request('/api/public/health')).status).toBe(200);

    await proxy.cut();
    const down = await t.request('/api/public/health');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      success: false,
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      data: null,
      meta: { status: 'down', checks: { database: 'down' }, requestId: down.headers.get('x-request-id') },
    });
    expect(down.headers.get('retry-after')).toBe('5');

    const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${t.url}/trpc` })] });
    const error = await trpc.public.health.query().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data).toMatchObject({ code: 'SERVICE_UNAVAILABLE', httpStatus: 503 });

    await proxy.restore();
    await expect
      .poll(async () => (await t.request('/api/public/health')).status, { timeout: 10_000, interval: 200 })
      .toBe(200);
  });
});
