import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restRoutes } from '../../adapters/rest/routes.js';
import { appRouter } from '../../procedures/index.js';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let doc: any;
beforeAll(async () => {
  t = await startTestApp();
  const res = await t.request('/api/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(async () => {
  await t?.close();
});

const ENVELOPE_KEYS = ['success', 'status', 'code', 'message', 'data', 'meta'];

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeTruthy();
  });

  it('documents every REST procedure', () => {
    for (const route of restRoutes(appRouter)) {
      expect(doc.paths[route.path]?.[route.method.toLowerCase()], `${route.method} ${route.path}`).toBeDefined();
    }
  });

  it('shows the envelope on every response and lists each operation’s errors', async () => {
    const dereferenced: any = await SwaggerParser.dereference(structuredClone(doc));
    for (const [path, item] of Object.entries<any>(dereferenced.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        const statuses = Object.keys(operation.responses);
        expect(statuses.some((s) => s.startsWith('2')), `${method} ${path} success`).toBe(true);
        for (const status of ['400', '429', '500', '503']) expect(statuses, `${method} ${path}`).toContain(status);
        for (const [status, response] of Object.entries<any>(operation.responses)) {
          if (Number(status) < 400 && !response.content['application/json']) {
            // A streamed file (the audit-log export) is the body itself.
            expect(Object.keys(response.content).sort(), `${method} ${path}`).toEqual(['application/x-ndjson', 'text/csv']);
            continue;
          }
          const schema = response.content['application/json'].schema;
          expect(schema.required, `${method} ${path} ${status}`).toEqual(ENVELOPE_KEYS);
          expect(Object.keys(schema.properties)).toEqual(ENVELOPE_KEYS);
          expect(schema.properties.success.const).toBe(Number(status) < 400);
          expect(response.headers['RateLimit-Remaining']).toBeDefined();
          if (Number(status) >= 400) expect(response.description).toMatch(/^Error: [A-Z_]+/);
        }
      }
    }
  });

  it('shows the health answer inside data', () => {
    const success = doc.paths['/public/health'].get.responses['200'].content['application/json'].schema;
    expect(success.properties.data.properties.checks.properties.database).toBeDefined();
    expect(doc.paths['/public/health'].get.responses['503'].description).toContain('SERVICE_UNAVAILABLE');
  });
});

describe('GET /api/docs', () => {
  it('serves the interactive reference pointing at the document', async () => {
    const res = await fetch(`${t.url}/api/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('/api/openapi.json');
  });
});
