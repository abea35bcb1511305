/**
 * CORS as a browser on another origin meets it: preflights answered on /api and /trpc, credentials
 * for TRUSTED_ORIGINS on every route, `*` without credentials on the public routes for anyone else,
 * and nothing for an unknown origin on the other routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { newId } from '../../server/ids.js';
import { createProject } from '../support/forms.js';
import { asBrowser, signUp } from '../support/identity.js';
import { defaultOrganizationId } from '../support/tenancy.js';
import { insertForm } from '../support/widgets.js';

const FRONTEND = 'http://localhost:5173';
const STRANGER = 'https://elsewhere.example';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { TRUSTED_ORIGINS: `http://localhost:3000,${FRONTEND}` } });
});
afterAll(async () => {
  await t?.close();
});

const preflight = (path: string, origin: string, method: string, headers = 'content-type') =>
  fetch(`${t.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });

describe('CORS', () => {
  it('answers a trusted origin’s preflight on REST and tRPC routes, with credentials', async () => {
    for (const [path, method] of [
      ['/api/user/me', 'PUT'],
      ['/api/user/organizations/01ARZ3NDEKTSV4RRFFQ69G5FAV/projects', 'POST'],
      ['/trpc/user.me.get', 'GET'],
    ] as const) {
      const res = await preflight(path, FRONTEND, method, 'content-type, x-api-key, idempotency-key');
      expect(res.status, path).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(FRONTEND);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      expect(res.headers.get('access-control-allow-methods')).toContain(method);
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toEqual(
        expect.stringContaining('x-api-key'),
      );
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toEqual(
        expect.stringContaining('idempotency-key'),
      );
      expect(res.headers.get('access-control-max-age')).toBe('600');
      expect(res.headers.get('vary')).toMatch(/origin/i);
    }
  });

  it('lets a trusted origin read a cookie-authenticated answer, with the API’s headers exposed', async () => {
    const user = await signUp(t);
    const rest = await fetch(`${t.url}/api/user/me`, { headers: { origin: FRONTEND, cookie: user.cookie } });
    expect(rest.status).toBe(200);
    expect(rest.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    expect(rest.headers.get('access-control-allow-credentials')).toBe('true');
    expect(rest.headers.get('access-control-expose-headers')).toEqual(expect.stringContaining('RateLimit-Remaining'));
    expect(rest.headers.get('access-control-expose-headers')).toEqual(expect.stringContaining('X-Request-Id'));
    const trpc = await fetch(`${t.url}/trpc/user.me.get`, { headers: { origin: FRONTEND, cookie: user.cookie } });
    expect(trpc.status).toBe(200);
    expect(trpc.headers.get('access-control-allow-origin')).toBe(FRONTEND);
  });

  it('gives any origin the public routes without credentials, and nothing else', async () => {
    for (const path of ['/api/public/health', '/trpc/public.health', '/api/openapi.json']) {
      const res = await fetch(`${t.url}${path}`, { headers: { origin: STRANGER } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('access-control-allow-origin'), path).toBe('*');
      expect(res.headers.get('access-control-allow-credentials'), path).toBeNull();
    }
    const pre = await preflight('/api/public/health', STRANGER, 'GET');
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');

    for (const path of ['/api/user/me', '/trpc/user.me.get', '/trpc/public.health,user.me.get?batch=1&input={}']) {
      const res = await fetch(`${t.url}${path}`, { headers: { origin: STRANGER } });
      expect(res.headers.get('access-control-allow-origin'), path).toBeNull();
      const refused = await preflight(path.split('?')[0]!, STRANGER, 'GET');
      expect(refused.headers.get('access-control-allow-origin'), path).toBeNull();
    }
  });

  it('answers a preflight to each public route from any origin, with what a page’s script sends', async () => {
    for (const [path, method, headers] of [
      [`/api/public/widgets/${newId()}`, 'GET', 'if-none-match'],
      [`/api/public/forms/${newId()}/submissions`, 'POST', 'content-type'],
      ['/api/public/track', 'POST', 'content-type, x-publishable-key'],
    ] as const) {
      const res = await preflight(path, STRANGER, method, headers);
      expect(res.status, path).toBe(204);
      expect(await res.text()).toBe('');
      expect(res.headers.get('access-control-allow-origin'), path).toBe('*');
      expect(res.headers.get('access-control-allow-credentials'), path).toBeNull();
      expect(res.headers.get('access-control-allow-methods')?.split(', '), path).toContain(method);
      const allowed = res.headers.get('access-control-allow-headers')?.toLowerCase().split(', ') ?? [];
      for (const header of headers.split(', ')) expect(allowed, `${path} ${header}`).toContain(header);
      expect(res.headers.get('access-control-max-age')).toBe('600');
    }
  });

  it('lets any origin read a published widget, its ETag exposed to the page’s script', async () => {
    const owner = await signUp(t);
    const organizationId = await defaultOrganizationId(t, owner.userId);
    const projectId = await createProject(t, { ...owner, organizationId });
    const formId = await insertForm(t, { organizationId, projectId });
    const created = await t.request(`/api/user/organizations/${organizationId}/projects/${projectId}/widgets`, {
      method: 'POST',
      headers: asBrowser(owner.cookie, { origin: FRONTEND }),
      body: JSON.stringify({ name: 'W', type: 'counter', published: true, config: { label: 'joined', formId } }),
    });
    expect(created.status).toBe(201);
    const res = await fetch(`${t.url}/api/public/widgets/${created.body.data.id}`, { headers: { origin: STRANGER } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('etag')).toBeTruthy();
    expect(res.headers.get('access-control-expose-headers')?.split(', ')).toContain('ETag');
  });

  it('leaves requests without Origin and non-preflight OPTIONS as they were', async () => {
    const plain = await fetch(`${t.url}/api/public/health`);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    const options = await fetch(`${t.url}/api/public/health`, { method: 'OPTIONS' });
    expect(options.status).toBe(405);
  });
});
