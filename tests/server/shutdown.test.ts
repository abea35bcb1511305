import { describe, expect, it } from 'vitest';
import { startTestApp } from '../support/app.js';
import { testRouter } from '../support/test-router.js';

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, refuses new connections, then closes', async () => {
    const t = await startTestApp({ router: testRouter });
    const inFlight = t.request('/api/public/testing/slow?ms=700');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const shutdown = t.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(fetch(`${t.url}/api/public/health`)).rejects.toThrow();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ waited: 700 });
    await shutdown;
    expect(t.services.orm.isConnected ? await t.services.orm.isConnected() : false).toBe(false);
  });
});
