/**
 * The OpenAPI document at /api/openapi.json: valid (a real validator), complete, and true to the
 * running service. What the document says about headers, credentials, the OAuth endpoints and error
 * codes is checked against what the service answers, not only against itself.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restRoutes } from '../../adapters/rest/routes.js';
import { appRouter } from '../../procedures/index.js';
import { ERROR_CODES, type ErrorCode } from '../../server/errors.js';
import { newId } from '../../server/ids.js';
import { USER_SCOPES } from '../../server/scopes.js';
import { createApiKey } from '../support/api-keys.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asBrowser, ORIGIN, signUp, type SignedUp } from '../support/identity.js';
import { freePort } from '../support/net.js';
import { addSecondFactor, requireMfa } from '../support/mfa.js';
import { createBearerToken, registerPublicClient } from '../support/oauth.js';
import { authorizationRequest, protocolPost } from '../support/oauth-flow.js';
import { addMember, defaultOrganizationId } from '../support/tenancy.js';

let t: TestApp;
let doc: any;
/** The document with every $ref resolved. */
let resolved: any;
let owner: SignedUp;
let organizationId: string;

beforeAll(async () => {
  // The service's public URL is where it listens, so the URLs in the document can be fetched as they are.
  const port = await freePort();
  t = await startTestApp({
    port,
    env: {
      BASE_URL: `http://127.0.0.1:${port}`,
      TRUSTED_ORIGINS: ORIGIN,
      RATE_LIMIT_GLOBAL_POINTS: '10000',
      RATE_LIMIT_SIGN_UP_POINTS: '100',
    },
  });
  const res = await t.request('/api/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
  resolved = await SwaggerParser.dereference(structuredClone(doc));
  owner = await signUp(t);
  organizationId = await defaultOrganizationId(t, owner.userId);
});
afterAll(async () => {
  await t?.close();
});

const ENVELOPE_KEYS = ['success', 'status', 'code', 'message', 'data', 'meta'];
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

interface Operation {
  method: string;
  path: string;
  operation: any;
}

function operationsOf(document: any): Operation[] {
  return Object.entries<any>(document.paths).flatMap(([path, item]) =>
    Object.entries<any>(item).map(([method, operation]) => ({ method, path, operation })),
  );
}

/** The properties an `allOf` (or a plain schema) promises, and the codes all its parts allow. */
function envelopeOf(schema: any): { required: Set<string>; properties: Record<string, any>; codes?: string[] } {
  const parts: any[] = schema.allOf ?? [schema];
  const enums = parts.map((part) => part.properties?.code?.enum).filter(Array.isArray) as string[][];
  return {
    required: new Set(parts.flatMap((part) => part.required ?? [])),
    properties: Object.assign({}, ...parts.map((part) => part.properties ?? {})),
    codes: enums.length > 0 ? enums.reduce((all, some) => all.filter((code) => some.includes(code))) : undefined,
  };
}

function codesAt(operation: any, status: number): string[] {
  const response = operation.responses[String(status)];
  return response ? (envelopeOf(response.content['application/json'].schema).codes ?? []) : [];
}

/** Whether the operation needs a credential: a security requirement, and none of them empty. */
const needsCredential = (operation: any) =>
  operation.security?.length > 0 && operation.security.every((s: object) => Object.keys(s).length > 0);

const pathParams = (operation: any): string[] =>
  (operation.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name);

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeTruthy();
    expect(doc.servers).toEqual([{ url: `${t.services.config.baseUrl}/api` }]);
  });

  it('documents every REST procedure', () => {
    for (const route of restRoutes(appRouter)) {
      expect(doc.paths[route.path]?.[route.method.toLowerCase()], `${route.method} ${route.path}`).toBeDefined();
    }
  });

  it('lists every tag its operations use, each described in a line, and no other', () => {
    const used = new Set(operationsOf(doc).flatMap(({ operation }) => operation.tags ?? []));
    expect(used.size).toBeGreaterThan(5);
    expect(doc.tags?.map((tag: any) => tag.name).sort()).toEqual([...used].sort());
    for (const tag of doc.tags) {
      expect(tag.description, tag.name).toMatch(/^\S.*\S$/);
      expect(tag.description, tag.name).not.toContain('\n');
    }
    for (const { method, path, operation } of operationsOf(doc))
      expect(operation.tags?.length, `${method} ${path}`).toBeGreaterThan(0);
  });

  it('keeps no component that nothing uses: none of trpc-to-openapi’s tRPC-shaped error.* schemas', () => {
    expect(Object.keys(doc.components.schemas).filter((name) => name.startsWith('error.'))).toEqual([]);
    for (const kind of ['schemas', 'parameters', 'headers']) {
      const unused = Object.keys(doc.components[kind]).filter((name) => {
        const { [name]: _itself, ...others } = doc.components[kind];
        return !JSON.stringify({ ...doc, components: { ...doc.components, [kind]: others } }).includes(
          `"#/components/${kind}/${name}"`,
        );
      });
      expect(unused, kind).toEqual([]);
    }
  });

  it('takes an optional Idempotency-Key header on every POST, and on nothing else', () => {
    for (const { method, path, operation } of operationsOf(resolved)) {
      const header = (operation.parameters ?? []).find((p: any) => p.in === 'header' && p.name === 'Idempotency-Key');
      if (method !== 'post') {
        expect(header, `${method} ${path}`).toBeUndefined();
        continue;
      }
      expect(header, `${method} ${path}`).toMatchObject({
        required: false,
        schema: { type: 'string', minLength: 1, maxLength: 255 },
      });
      expect(header.description).toMatch(/24 h/);
    }
  });

  it('declares the response headers: X-Request-Id and RateLimit-* always, Retry-After on 429 and 503, Idempotent-Replayed on POST answers', () => {
    for (const { method, path, operation } of operationsOf(resolved)) {
      for (const [status, response] of Object.entries<any>(operation.responses)) {
        const label = `${method} ${path} ${status}`;
        const headers = response.headers ?? {};
        for (const name of ['X-Request-Id', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']) {
          expect(headers[name], `${label} ${name}`).toMatchObject({
            required: true,
            schema: { type: expect.any(String) },
          });
          expect(headers[name].description, `${label} ${name}`).toBeTruthy();
        }
        if (status === '429' || status === '503')
          expect(headers['Retry-After']?.schema, label).toEqual({ type: 'integer', minimum: 0 });
        else expect(headers['Retry-After'], label).toBeUndefined();
        // A replay is the kept answer: what the procedure's logic said, never a refusal by the budget nor a 5xx.
        const replayable = method === 'post' && status !== '429' && Number(status) < 500;
        expect(headers['Idempotent-Replayed'] !== undefined, label).toBe(replayable);
        if (replayable) expect(headers['Idempotent-Replayed'].schema).toEqual({ type: 'string', enum: ['true'] });
      }
    }
  });

  it('shows the envelope on every response', () => {
    for (const { method, path, operation } of operationsOf(resolved)) {
      const statuses = Object.keys(operation.responses);
      expect(
        statuses.some((s) => s.startsWith('2') || s === '303'),
        `${method} ${path} success`,
      ).toBe(true);
      for (const [status, response] of Object.entries<any>(operation.responses)) {
        if (status === '303') {
          // A redirect (the magic link) has no body: where it goes is its Location.
          expect(response.content, `${method} ${path}`).toBeUndefined();
          expect(response.headers.Location, `${method} ${path}`).toBeDefined();
          continue;
        }
        if (status === '304') {
          // Not Modified (a cached route): no body, the validators it was asked about.
          expect(response.content, `${method} ${path}`).toBeUndefined();
          expect(response.headers.ETag, `${method} ${path}`).toBeDefined();
          continue;
        }
        if (Number(status) < 400 && !response.content['application/json']) {
          // A streamed file is the body itself, in the types it comes in.
          const fileTypes: Record<string, string[]> = {
            '/user/organizations/{organizationId}/audit-logs/export': ['application/x-ndjson', 'text/csv'],
            '/user/organizations/{organizationId}/projects/{projectId}/forms/{formId}/submissions/export': [
              'application/x-ndjson',
              'text/csv',
            ],
            '/auth/sso/{providerId}/metadata': ['application/samlmetadata+xml'],
          };
          expect(Object.keys(response.content).sort(), `${method} ${path}`).toEqual(fileTypes[path]);
          continue;
        }
        const envelope = envelopeOf(response.content['application/json'].schema);
        expect([...envelope.required].sort(), `${method} ${path} ${status}`).toEqual([...ENVELOPE_KEYS].sort());
        expect(Object.keys(envelope.properties).sort()).toEqual([...ENVELOPE_KEYS].sort());
        expect(envelope.properties.success.const).toBe(Number(status) < 400);
      }
    }
  });

  it('gives every operation one error response per status, its possible codes an enum of that status’s codes', () => {
    for (const { method, path, operation } of operationsOf(resolved)) {
      const label = `${method} ${path}`;
      for (const [status, response] of Object.entries<any>(operation.responses)) {
        if (Number(status) < 400) continue;
        const { properties, codes } = envelopeOf(response.content['application/json'].schema);
        expect(codes?.length, `${label} ${status}: code enum`).toBeGreaterThan(0);
        for (const code of codes!)
          expect(ERROR_CODES[code as ErrorCode]?.status, `${label} ${status} ${code}`).toBe(Number(status));
        expect(properties.status.const, `${label} ${status}`).toBe(Number(status));
        expect(response.description, `${label} ${status}`).toBeTruthy();
      }
      expect(codesAt(operation, 429), label).toEqual(['RATE_LIMIT_ERROR']);
      expect(codesAt(operation, 500), label).toEqual(['INTERNAL_ERROR']);
      expect(codesAt(operation, 503), label).toContain('SERVICE_UNAVAILABLE');
      if (operation.parameters?.some((p: any) => p.in !== 'header') || operation.requestBody)
        expect(codesAt(operation, 400), label).toContain('VALIDATION_ERROR');
      if (BODY_METHODS.has(method))
        expect(codesAt(operation, 400), label).toEqual(expect.arrayContaining(['BAD_REQUEST', 'PAYLOAD_TOO_LARGE']));
      if (BODY_METHODS.has(method)) expect(codesAt(operation, 415), label).toEqual(['UNSUPPORTED_MEDIA_TYPE']);
      if (method === 'post')
        expect(codesAt(operation, 409), label).toEqual(
          expect.arrayContaining(['IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_IN_USE']),
        );
      if (needsCredential(operation)) {
        expect(codesAt(operation, 401), label).toEqual(
          expect.arrayContaining(['AUTHENTICATION_REQUIRED', 'INVALID_OR_EXPIRED_TOKEN', 'INVALID_API_KEY']),
        );
        expect(codesAt(operation, 403).length, label).toBeGreaterThan(0);
      }
      if (pathParams(operation).some((name) => name !== 'organizationId'))
        expect(codesAt(operation, 404), label).toContain('NOT_FOUND');
    }
  });

  it('lists MFA_REQUIRED on every tenant operation but the two left open, and REAUTHENTICATION_REQUIRED on security actions', () => {
    for (const route of restRoutes(appRouter)) {
      const label = `${route.method} ${route.path}`;
      const operation = resolved.paths[route.path][route.method.toLowerCase()];
      const forbidden = codesAt(operation, 403);
      expect(forbidden.includes('MFA_REQUIRED'), label).toBe(route.meta.tier === 'tenant' && !route.meta.mfaExempt);
      expect(forbidden.includes('REAUTHENTICATION_REQUIRED'), label).toBe(route.meta.stepUp === true);
      if (route.meta.stepUp) {
        expect(codesAt(operation, 401), label).toContain('INVALID_CREDENTIALS');
        expect(operation.description, label).toMatch(/10 minutes/);
      }
    }
    for (const [method, path] of [
      ['post', '/auth/change-email'],
      ['delete', '/user/me'],
      ['post', '/auth/api-key/create'],
    ] as const)
      expect(codesAt(resolved.paths[path][method], 403), `${method} ${path}`).toContain('REAUTHENTICATION_REQUIRED');
    for (const path of ['/my-membership', '/leave', '/mfa', '/projects']) {
      const item = resolved.paths[`/user/organizations/{organizationId}${path}`];
      const open = path === '/my-membership' || path === '/leave';
      expect(codesAt(item.get ?? item.post, 403).includes('MFA_REQUIRED'), path).toBe(!open);
    }
  });

  it('lists the codes the sign-in steps answer themselves: a wrong code, a dead challenge, a deactivated account', () => {
    const at = (path: string) => resolved.paths[path].post;
    for (const path of ['/auth/two-factor/verify-totp', '/auth/two-factor/verify-backup-code']) {
      expect(codesAt(at(path), 401), path).toEqual(
        expect.arrayContaining(['INVALID_CREDENTIALS', 'INVALID_OR_EXPIRED_TOKEN', 'USER_NOT_ACTIVE']),
      );
    }
    expect(codesAt(at('/auth/two-factor/confirm'), 401)).toContain('INVALID_CREDENTIALS');
    expect(codesAt(at('/auth/passkey/authenticate/verify'), 401)).toEqual(
      expect.arrayContaining(['INVALID_CREDENTIALS', 'USER_NOT_ACTIVE']),
    );
  });

  it('describes OAuth bearer tokens as an oauth2 authorization-code flow with PKCE, beside the API key and the cookie', () => {
    const schemes = doc.components.securitySchemes;
    expect(schemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Api-Key' });
    expect(schemes.sessionCookie).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'session' });
    expect(Object.values<any>(schemes).filter((scheme) => scheme.type === 'http')).toEqual([]);
    const oauth2 = schemes.oauth2;
    expect(oauth2.type).toBe('oauth2');
    expect(oauth2.description).toMatch(/PKCE/);
    expect(oauth2.description).toMatch(/S256/);
    expect(Object.keys(oauth2.flows)).toEqual(['authorizationCode']);
    const flow = oauth2.flows.authorizationCode;
    const issuer = `${t.services.config.baseUrl}/api/auth/oauth2`;
    expect(flow).toMatchObject({
      authorizationUrl: `${issuer}/authorize`,
      tokenUrl: `${issuer}/token`,
      refreshUrl: `${issuer}/token`,
    });
    for (const scope of USER_SCOPES) expect(flow.scopes[scope], scope).toMatch(/^\S.*\S$/);
    for (const { method, path, operation } of operationsOf(doc)) {
      for (const requirement of operation.security ?? []) {
        for (const scope of requirement.oauth2 ?? [])
          expect(Object.keys(flow.scopes), `${method} ${path}`).toContain(scope);
      }
      const route = restRoutes(appRouter).find((r) => r.path === path && r.method.toLowerCase() === method)!;
      const scopes = route.meta.scopes ?? [];
      if (!needsCredential(operation)) continue;
      if (route.meta.sessionOnly) expect(operation.security, `${method} ${path}`).toEqual([{ sessionCookie: [] }]);
      else
        expect(operation.security, `${method} ${path}`).toEqual([
          { sessionCookie: [] },
          { apiKey: scopes },
          { oauth2: scopes },
        ]);
    }
  });

  it('points the flow at endpoints the running service serves: the ones its discovery names', async () => {
    const { description, flows } = doc.components.securitySchemes.oauth2;
    const flow = flows.authorizationCode;
    const discovery = `${t.services.config.baseUrl}/api/auth/oauth2/.well-known/openid-configuration`;
    expect(description).toContain(discovery);
    const metadata = await t.request(new URL(discovery).pathname);
    expect(metadata.body.authorization_endpoint).toBe(flow.authorizationUrl);
    expect(metadata.body.token_endpoint).toBe(flow.tokenUrl);
    expect(metadata.body.code_challenge_methods_supported).toEqual(['S256']);
    for (const scope of USER_SCOPES) expect(metadata.body.scopes_supported).toContain(scope);
    for (const scope of Object.keys(flow.scopes)) expect(metadata.body.scopes_supported, scope).toContain(scope);

    // The authorization endpoint takes an authorization-code request with PKCE to its sign-in page ...
    const redirectUri = 'https://client.example/callback';
    const client = await registerPublicClient(t, { ownerId: owner.userId, redirectUris: [redirectUri] });
    const request = await authorizationRequest(flow.authorizationUrl, {
      client_id: client.id,
      redirect_uri: redirectUri,
      scope: 'openid projects:read',
    });
    const started = await fetch(request.url, { redirect: 'manual' });
    expect(started.status).toBe(303);
    expect(new URL(started.headers.get('location')!, flow.authorizationUrl).pathname).toMatch(
      /^\/api\/auth\/oauth2\/interaction\/[\w-]+$/,
    );
    // ... and sends one without PKCE back to the client with an error, as the description says.
    const withoutPkce = await authorizationRequest(flow.authorizationUrl, {
      client_id: client.id,
      redirect_uri: redirectUri,
      code_challenge: undefined,
      code_challenge_method: undefined,
    });
    const refused = new URL((await fetch(withoutPkce.url, { redirect: 'manual' })).headers.get('location')!);
    expect(refused.origin + refused.pathname).toBe(redirectUri);
    expect(refused.searchParams.get('error')).toBe('invalid_request');

    // The token endpoint answers a token request with an RFC 6749 error, not a 404.
    const token = await protocolPost(flow.tokenUrl, {
      grant_type: 'authorization_code',
      code: 'not-a-code',
      redirect_uri: redirectUri,
      client_id: client.id,
      code_verifier: request.verifier,
    });
    expect(token.status).toBe(400);
    expect(token.body.error).toBe('invalid_grant');
  });

  it('shows the health answer inside data', () => {
    const success = doc.paths['/public/health'].get.responses['200'].content['application/json'].schema;
    expect(success.properties.data.properties.checks.properties.database).toBeDefined();
    expect(codesAt(resolved.paths['/public/health'].get, 503)).toEqual(['SERVICE_UNAVAILABLE']);
  });
});

describe('what the service answers is what the document says', () => {
  /** The API's own headers: each one sent must be documented on that response. */
  const API_HEADERS = /^(x-request-id|ratelimit-.*|retry-after|idempotent-replayed|www-authenticate)$/;

  async function expectDocumented(operation: any, label: string, res: { status: number; headers: Headers; body: any }) {
    const response = operation.responses[String(res.status)];
    expect(response, `${label}: ${res.status} ${res.body?.code} is not documented`).toBeDefined();
    // The one 5xx a probe may meet: billing routes of this app, which has no Stripe key, say so.
    if (res.body?.code !== 'BILLING_NOT_CONFIGURED')
      expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
    if (res.status >= 400) expect(codesAt(operation, res.status), label).toContain(res.body.code);
    const documented = Object.keys(response.headers ?? {}).map((name) => name.toLowerCase());
    for (const name of res.headers.keys())
      if (API_HEADERS.test(name)) expect(documented, `${label}: header ${name}`).toContain(name);
    for (const [name, header] of Object.entries<any>(response.headers ?? {})) {
      if (header.required) expect(res.headers.has(name), `${label}: header ${name}`).toBe(true);
    }
  }

  /** What ends the caller's standing, so that it comes after everything else it could still reach. */
  const endsStanding = (op: Operation) => Number(/\/(sign-out|leave)$/.test(op.path));

  /** Calls every operation as `headers` say, with stand-in ids and an empty body. */
  async function probeAll(caller: string, headers: Record<string, string>, organization = newId()) {
    const operations = operationsOf(resolved).sort((a, b) => endsStanding(a) - endsStanding(b));
    for (const { method, path, operation } of operations) {
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'organizationId' ? organization : newId()));
      const body = method === 'get' || method === 'delete' ? undefined : '{}';
      const res = await t.request(`/api${url}`, {
        method: method.toUpperCase(),
        headers: { 'content-type': 'application/json', ...headers },
        body,
        redirect: 'manual',
      });
      await expectDocumented(operation, `${caller}: ${method} ${path}`, res);
      if (caller === 'anonymous') {
        expect(
          res.status === 401 && res.body.code === 'AUTHENTICATION_REQUIRED',
          `${caller}: ${method} ${path} security`,
        ).toBe(needsCredential(operation));
      }
    }
  }

  it('to callers without a credential, and with a bad one', async () => {
    await probeAll('anonymous', {});
    await probeAll('unknown API key', { 'x-api-key': `ba_${'x'.repeat(43)}` });
    await probeAll('bad bearer token', { authorization: 'Bearer not-a-token' });
    await probeAll(
      'cookie from an untrusted origin',
      { cookie: owner.cookie, origin: 'https://elsewhere.example' },
      organizationId,
    );
  }, 120_000);

  it('to tokens that lack the scopes', async () => {
    const key = await createApiKey(t, { userId: owner.userId, scopes: ['analytics:read'] });
    await probeAll('API key without the scopes', { 'x-api-key': key }, organizationId);
    const { token } = await createBearerToken(t, { userId: owner.userId, scopes: ['analytics:read'] });
    await probeAll('OAuth token without the scopes', { authorization: `Bearer ${token}` }, organizationId);
  }, 120_000);

  it('to signed-in users: a member, an unverified user and the owner', async () => {
    const member = await signUp(t);
    await addMember(t, organizationId, member.userId, 'member');
    await probeAll('member', asBrowser(member.cookie), organizationId);
    const unverified = await signUp(t, { verified: false });
    await probeAll('unverified user', asBrowser(unverified.cookie), await defaultOrganizationId(t, unverified.userId));
    await probeAll('owner', asBrowser(owner.cookie), organizationId);
  }, 120_000);

  it('to a member the organization’s MFA policy shuts out, with a session and an API key', async () => {
    const strictOwner = await signUp(t);
    const strictId = await defaultOrganizationId(t, strictOwner.userId);
    await addSecondFactor(t, strictOwner.userId, 'totp');
    await requireMfa(t, strictId);
    const member = await signUp(t);
    await addMember(t, strictId, member.userId, 'member');
    const key = await createApiKey(t, { userId: member.userId });
    const projects = await t.request(`/api/user/organizations/${strictId}/projects`, { headers: { 'x-api-key': key } });
    expect(projects.body.code).toBe('MFA_REQUIRED');
    await probeAll('API key of a member without MFA', { 'x-api-key': key }, strictId);
    await probeAll('member without MFA', asBrowser(member.cookie), strictId);
  }, 120_000);

  it('to an Idempotency-Key: its longest documented length is kept and replayed, one more is refused', async () => {
    const operation = resolved.paths['/auth/sign-out'].post;
    const { maxLength } = operation.parameters.find((p: any) => p.name === 'Idempotency-Key').schema;
    const send = (key: string) =>
      t.request('/api/auth/sign-out', { method: 'POST', headers: { 'idempotency-key': key } });
    const key = `k${newId()}`.padEnd(maxLength, 'k');
    const first = await send(key);
    await expectDocumented(operation, 'first', first);
    const replayed = await send(key);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    await expectDocumented(operation, 'replay', replayed);
    const tooLong = await send(`${key}k`);
    expect([tooLong.status, tooLong.body.code]).toEqual([400, 'BAD_REQUEST']);
    await expectDocumented(operation, 'too long', tooLong);
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
