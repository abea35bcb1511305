/**
 * The OpenAPI 3.1 document at GET /api/openapi.json, built from the REST routes and their procedures'
 * meta; nothing in it is listed per route.
 *
 * trpc-to-openapi documents raw procedure outputs and tRPC-shaped errors; this file rewrites each
 * operation so that it documents what the REST adapter sends. The document's rules:
 *
 * - Success: the envelope around the output at the procedure's status (a list's items as `data`, its
 *   paging as `meta`); a streamed file is the body itself; a redirect (meta.redirect) is 303 with
 *   Location and no body. A meta.form route documents its body as a form as well as JSON.
 * - Errors: one response per status the operation can produce, the envelope with `status` fixed and
 *   `code` an enum of that status's codes, as `errorCodesFor` derives them from the route (its rules
 *   are listed there).
 * - Request headers: X-Request-Id on every operation; Idempotency-Key on every POST.
 * - Response headers: X-Request-Id and RateLimit-Limit, -Remaining, -Reset on every response;
 *   Retry-After on 429 and 503; WWW-Authenticate on 401; on POST, Idempotent-Replayed on every
 *   answer a retry can replay (what the logic answered: below 500, never a 429).
 * - Cached routes (meta.cache): ETag and Cache-Control on the success, a 304 without a body, and the
 *   If-None-Match request header.
 * - Security: none where anonymous callers are served; the session cookie alone on session-only
 *   routes; else the cookie, an API key or an OAuth access token, the last two with the route's
 *   scopes. OAuth is the authorization-code flow with PKCE against this service's own provider.
 * - Tags: each tag an operation uses, listed once with its line from TAG_DESCRIPTIONS.
 * - Components hold only what the document references: trpc-to-openapi's `error.*` schemas go.
 */
import { STATUS_CODES } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { issuerOf, type OIDC_SCOPES } from '../oauth/provider.js';
import { sessionCookieName } from '../../server/auth/sessions.js';
import { ERROR_CODES, type ErrorCode } from '../../server/errors.js';
import type { Scope } from '../../server/scopes.js';
import type { Meta } from '../../server/trpc.js';
import { VERSION } from '../../server/version.js';
import type { RestRoute } from './routes.js';

type Schema = Record<string, unknown>;

/** What an operation takes, by where it arrives. */
interface OperationInput {
  path: string[];
  query: string[];
  body: string[];
}

const TAG_DESCRIPTIONS: Record<string, string> = {
  public: 'Open to anyone, no credential: service health, embeddable widgets, sign-up form submissions, event tracking',
  auth: 'Sign-up, sign-in and sign-out, sessions, email verification and passwords',
  'api-keys': 'Personal access tokens (X-Api-Key) of the signed-in user',
  user: 'The signed-in user’s own account',
  invites: 'Invitations to an organization: those it sent, and those sent to you',
  organizations: 'Organizations, the tenants: yours, and creating, renaming and deleting one',
  'oauth-clients': 'OAuth clients you register for your own applications',
  'oauth-grants': 'Applications you authorized through OAuth, and withdrawing their access',
  members: 'Members of an organization and their roles',
  projects: 'Projects of an organization',
  forms: 'Public sign-up forms of a project, and what was submitted to them',
  widgets: 'Embeddable widgets of a project: a sign-up form, a counter of a form’s submissions',
  analytics: 'Events tracked for a project with its publishable key, and their counts per hour or day',
  settings: 'Settings of an organization',
  audit: 'The audit log of an organization: listing and exporting it',
  security: 'Security policy of an organization: requiring MFA of members, and who complies',
  social: 'Sign-in with Google, GitHub or another OpenID Connect provider, and the accounts linked to yours',
  sso: 'Enterprise single sign-on: finding an address’s connection, OpenID Connect and SAML 2.0 sign-in, and an organization’s connections and domains',
  billing:
    'An organization’s plan and Stripe subscription: checkout, the customer portal, invoices and billing details',
  webhook: 'Events that providers (Stripe) send, each verified by its signature',
};

const SCOPE_DESCRIPTIONS: Record<Scope | (typeof OIDC_SCOPES)[number], string> = {
  openid: 'Sign the user in: an ID token and userinfo naming them (OpenID Connect)',
  profile: 'The user’s name, in the ID token and userinfo',
  email: 'The user’s email address and whether it is verified, in the ID token and userinfo',
  offline_access: 'A refresh token, to keep access while the user is away',
  'user:read': 'Read the account: profile, sign-in history, data export',
  'user:write': 'Change the account’s profile',
  'projects:read': 'Read the projects of the user’s organizations',
  'projects:write': 'Create, change and delete projects',
  'subscription:read': 'Read subscriptions and payment history',
  'subscription:write': 'Change subscriptions',
  'api-keys:read': 'List the user’s personal access tokens',
  'api-keys:write': 'Create, change and rotate personal access tokens',
  'api-keys:delete': 'Revoke personal access tokens',
  'organizations:read': 'Read organizations, their members, invitations, settings and audit log',
  'organizations:write': 'Create and change organizations, members and invitations',
  'analytics:read': 'Read analytics',
};

/** Whether the route refuses anonymous callers: user and tenant routes, and the auth routes built for a principal (session-only or scoped). */
function needsPrincipal(meta: Meta): boolean {
  return meta.tier === 'user' || meta.tier === 'tenant' || meta.sessionOnly === true || (meta.scopes?.length ?? 0) > 0;
}

/**
 * The codes an operation can answer with, in the error table's order:
 * - every operation: RATE_LIMIT_ERROR, INTERNAL_ERROR, SERVICE_UNAVAILABLE;
 * - any input (a parameter, or the body every write reads): VALIDATION_ERROR;
 * - writes: the body's BAD_REQUEST, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE; CONFLICT (meta does not
 *   say which writes can clash, so every write may); CSRF_REJECTED on tiers that read a cookie;
 * - POST: IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_KEY_IN_USE;
 * - routes that need a principal: the five 401 codes and FORBIDDEN; NO_SCOPES_AVAILABLE where tokens
 *   are accepted, and API_KEY_MISSING_SCOPES and INSUFFICIENT_PERMISSIONS where they need scopes;
 *   EMAIL_NOT_VERIFIED with meta.verifiedEmail;
 * - tenant routes: TENANT_CONTEXT_MISSING; INSUFFICIENT_PERMISSIONS with meta.permission or ownerOnly;
 *   SSO_REQUIRED and MFA_REQUIRED unless meta.mfaExempt (the organization's SSO and MFA policies);
 * - meta.stepUp (a security action): REAUTHENTICATION_REQUIRED, and INVALID_CREDENTIALS for a wrong password;
 * - naming a resource (a path parameter, an `id`, a body field `…Id`; not organizationId, whose
 *   absence is FORBIDDEN): NOT_FOUND, and TENANT_VIOLATION on tenant routes;
 * - a `password` or `currentPassword` to check: INVALID_CREDENTIALS, USER_NOT_ACTIVE; an emailed
 *   `token` in the body: INVALID_OR_EXPIRED_TOKEN.
 */
function errorCodesFor(route: RestRoute, input: OperationInput): ErrorCode[] {
  const { meta, method } = route;
  const write = method !== 'GET';
  const codes = new Set<ErrorCode>(['RATE_LIMIT_ERROR', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE']);
  const add = (...more: ErrorCode[]) => {
    for (const code of more) codes.add(code);
  };
  const fields = [...input.path, ...input.query, ...input.body];

  if (write || fields.length > 0) add('VALIDATION_ERROR');
  if (write) add('BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'CONFLICT');
  if (write && meta.tier !== 'public' && meta.tier !== 'webhook') add('CSRF_REJECTED');
  if (method === 'POST') add('IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_IN_USE');
  if (needsPrincipal(meta)) {
    add(
      'AUTHENTICATION_REQUIRED',
      'NO_TOKEN_PROVIDED',
      'INVALID_OR_EXPIRED_TOKEN',
      'INVALID_API_KEY',
      'USER_NOT_ACTIVE',
      'FORBIDDEN',
    );
    if (!meta.sessionOnly) add('NO_SCOPES_AVAILABLE');
    if (!meta.sessionOnly && meta.scopes?.length) add('API_KEY_MISSING_SCOPES', 'INSUFFICIENT_PERMISSIONS');
    if (meta.verifiedEmail) add('EMAIL_NOT_VERIFIED');
  }
  if (meta.tier === 'tenant') add('TENANT_CONTEXT_MISSING');
  if (meta.tier === 'tenant' && (meta.permission || meta.ownerOnly)) add('INSUFFICIENT_PERMISSIONS');
  if (meta.tier === 'tenant' && !meta.mfaExempt) add('SSO_REQUIRED', 'MFA_REQUIRED');
  if (meta.stepUp) add('REAUTHENTICATION_REQUIRED', 'INVALID_CREDENTIALS');

  const resourceIds = [
    ...input.path,
    ...fields.filter((name) => name === 'id'),
    ...input.body.filter((name) => name.endsWith('Id')),
  ];
  if (resourceIds.some((name) => name !== 'organizationId')) {
    add('NOT_FOUND');
    if (meta.tier === 'tenant') add('TENANT_VIOLATION');
  }
  if (fields.includes('password') || fields.includes('currentPassword')) add('INVALID_CREDENTIALS', 'USER_NOT_ACTIVE');
  if (input.body.includes('token')) add('INVALID_OR_EXPIRED_TOKEN');
  add(...(meta.errors ?? []));

  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => codes.has(code));
}

const ENVELOPE_KEYS = ['success', 'status', 'code', 'message', 'data', 'meta'];

function successSchema(status: number, data: Schema): Schema {
  const isList =
    data.type === 'object' &&
    typeof data.properties === 'object' &&
    data.properties !== null &&
    'items' in data.properties &&
    'hasMore' in data.properties;
  const properties = (data.properties ?? {}) as Record<string, Schema>;
  return {
    type: 'object',
    required: ENVELOPE_KEYS,
    properties: {
      success: { const: true },
      status: { const: status },
      code: { const: 'OK' },
      message: { type: 'string' },
      data: isList ? properties.items : data,
      meta: isList ? { $ref: '#/components/schemas/PageMeta' } : { type: 'object' },
    },
  };
}

function errorSchema(status: number, codes: ErrorCode[]): Schema {
  return {
    allOf: [
      { $ref: '#/components/schemas/ErrorEnvelope' },
      { type: 'object', properties: { status: { const: status }, code: { type: 'string', enum: codes } } },
    ],
  };
}

const ERROR_ENVELOPE: Schema = {
  type: 'object',
  required: ENVELOPE_KEYS,
  properties: {
    success: { const: false },
    status: { type: 'integer', minimum: 400 },
    code: { $ref: '#/components/schemas/ErrorCode' },
    message: { type: 'string' },
    data: { type: 'null' },
    meta: {
      type: 'object',
      required: ['requestId'],
      properties: {
        requestId: { type: 'string' },
        errors: {
          type: 'array',
          items: {
            type: 'object',
            required: ['field', 'error', 'location'],
            properties: {
              field: { type: 'string' },
              error: { type: 'string' },
              location: { enum: ['body', 'query', 'params'] },
            },
          },
        },
        retryAfter: { type: 'integer' },
        requiredScopes: { type: 'array', items: { type: 'string' } },
        requiredPermissions: { type: 'array', items: { type: 'string' } },
      },
    },
  },
};

const PAGE_META: Schema = {
  type: 'object',
  required: ['total', 'offset', 'limit', 'hasMore'],
  properties: {
    total: { type: 'integer', minimum: 0 },
    offset: { type: 'integer', minimum: 0 },
    limit: { type: 'integer', minimum: 1, maximum: 100 },
    hasMore: { type: 'boolean' },
  },
};

const PARAMETERS = {
  RequestId: {
    name: 'X-Request-Id',
    in: 'header',
    required: false,
    description:
      'Your id for this request, echoed in the answer if it is at most 128 letters, digits or `_.:@-`; else one is generated',
    schema: { type: 'string' },
  },
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes a retry safe: the first answer for this key (per caller) is kept 24 h and a retry with the same method, path and body gets it again, ' +
      'with `Idempotent-Replayed: true`. The key with another request is 409 IDEMPOTENCY_KEY_REUSED; while the first still runs, 409 IDEMPOTENCY_KEY_IN_USE.',
    schema: { type: 'string', minLength: 1, maxLength: 255 },
  },
  IfNoneMatch: {
    name: 'If-None-Match',
    in: 'header',
    required: false,
    description: 'The ETag of the answer you hold (or a list, or `*`): 304 without a body while it is still current',
    schema: { type: 'string' },
  },
};

const HEADERS = {
  'X-Request-Id': {
    description: 'The request id: yours if it was safe, else generated',
    required: true,
    schema: { type: 'string' },
  },
  'RateLimit-Limit': {
    description: 'Requests allowed in the most restrictive budget that applied',
    required: true,
    schema: { type: 'integer', minimum: 0 },
  },
  'RateLimit-Remaining': {
    description: 'Requests left in that budget',
    required: true,
    schema: { type: 'integer', minimum: 0 },
  },
  'RateLimit-Reset': {
    description: 'Seconds until that budget resets',
    required: true,
    schema: { type: 'integer', minimum: 0 },
  },
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
  'Idempotent-Replayed': {
    description: 'Present when this is the kept answer of an earlier request with the same Idempotency-Key',
    schema: { type: 'string', enum: ['true'] },
  },
  'WWW-Authenticate': {
    description: '`Bearer error="invalid_token"` when a bearer token was refused (RFC 6750)',
    schema: { type: 'string' },
  },
  Location: { description: 'Where the browser goes next', required: true, schema: { type: 'string', format: 'uri' } },
  ETag: {
    description: 'A strong validator of this answer: send it back in If-None-Match to get 304 while it is unchanged',
    required: true,
    schema: { type: 'string' },
  },
  'Cache-Control': {
    description: '`public, max-age=<seconds>`: how long any cache, a browser’s or a CDN’s, may reuse this answer',
    required: true,
    schema: { type: 'string' },
  },
};

const headerRefs = (names: (keyof typeof HEADERS)[]) =>
  Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

function responseHeaders(method: RestRoute['method'], status: number, cached = false): Record<string, unknown> {
  const names: (keyof typeof HEADERS)[] = ['X-Request-Id', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];
  if (cached && status < 400) names.push('ETag', 'Cache-Control');
  if (status === 429 || status === 503) names.push('Retry-After');
  if (status === 401) names.push('WWW-Authenticate');
  if (method === 'POST' && status !== 429 && status < 500) names.push('Idempotent-Replayed');
  if (status === 303) names.push('Location');
  return headerRefs(names);
}

function securitySchemes(baseUrl: string) {
  const issuer = issuerOf({ baseUrl });
  return {
    sessionCookie: {
      type: 'apiKey',
      in: 'cookie',
      name: sessionCookieName({ baseUrl }),
      description: 'The session a sign-in sets (HttpOnly). A write with it needs an `Origin` in TRUSTED_ORIGINS.',
    },
    apiKey: {
      type: 'apiKey',
      in: 'header',
      name: 'X-Api-Key',
      description: 'A personal access token `ba_…`; it must carry the scopes listed on the operation',
    },
    oauth2: {
      type: 'oauth2',
      description:
        'OAuth 2.1 through this service’s own provider: the authorization-code flow, PKCE with S256 required of every client. ' +
        'The access token (a JWT) goes in `Authorization: Bearer`; refresh tokens rotate on every use. ' +
        `Discovery: ${issuer}/.well-known/openid-configuration. Tokens of the client-credentials grant act for no user and are refused here.`,
      flows: {
        authorizationCode: {
          authorizationUrl: `${issuer}/authorize`,
          tokenUrl: `${issuer}/token`,
          refreshUrl: `${issuer}/token`,
          scopes: SCOPE_DESCRIPTIONS,
        },
      },
    },
  } as const;
}

function securityFor(meta: Meta): Record<string, string[]>[] {
  if (!needsPrincipal(meta)) return [];
  if (meta.sessionOnly) return [{ sessionCookie: [] }];
  const scopes = meta.scopes ?? [];
  return [{ sessionCookie: [] }, { apiKey: scopes }, { oauth2: scopes }];
}

/** The sentences meta adds to an operation's description. */
function requirements(meta: Meta): string[] {
  return [
    meta.scopes?.length ? `Scopes: ${meta.scopes.join(', ')}.` : '',
    meta.permission ? `Permission: ${meta.permission}.` : '',
    meta.ownerOnly ? 'Owners only.' : '',
    meta.sessionOnly ? 'A signed-in session only, never a token.' : '',
    meta.verifiedEmail ? 'Needs a verified email address.' : '',
    meta.stepUp
      ? 'A security action for a session: confirm with `password`, or, for an account without one, have signed in within the last 10 minutes.'
      : '',
  ].filter(Boolean);
}

interface GeneratedOperation {
  description?: string;
  tags?: string[];
  parameters?: { $ref?: string; in?: string; name?: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  security?: Record<string, string[]>[];
}

function inputOf(operation: GeneratedOperation): OperationInput {
  const parameters = operation.parameters ?? [];
  const named = (where: string) => parameters.filter((p) => p.in === where).map((p) => p.name ?? '');
  const body = operation.requestBody?.content?.['application/json']?.schema?.properties;
  return { path: named('path'), query: named('query'), body: Object.keys(body ?? {}) };
}

export function buildOpenApiDocument(router: AnyRouter, routes: RestRoute[], baseUrl: string): OpenAPIObject {
  const doc = generateOpenApiDocument(router, {
    title: 'Multi-tenant API',
    description:
      'Every response uses the envelope `{success, status, code, message, data, meta}`. Clients switch on `code`. ' +
      'Tenant routes live under `/user/organizations/{organizationId}`.',
    version: VERSION,
    openApiVersion: '3.1.0',
    baseUrl: `${baseUrl.replace(/\/$/, '')}/api`,
    securitySchemes: securitySchemes(baseUrl),
  });

  const generatedSchemas = Object.entries(doc.components?.schemas ?? {}).filter(([name]) => !name.startsWith('error.'));
  doc.components = {
    ...doc.components,
    schemas: {
      ...Object.fromEntries(generatedSchemas),
      ErrorEnvelope: ERROR_ENVELOPE,
      ErrorCode: { type: 'string', enum: Object.keys(ERROR_CODES) },
      PageMeta: PAGE_META,
    },
    parameters: { ...doc.components?.parameters, ...PARAMETERS },
    headers: { ...doc.components?.headers, ...HEADERS },
  } as OpenAPIObject['components'];

  const tags: string[] = [];
  for (const route of routes) {
    const operation = doc.paths?.[route.path]?.[route.method.toLowerCase() as 'get'] as GeneratedOperation | undefined;
    if (!operation) continue;
    const status = route.meta.redirect ? 303 : (route.meta.status ?? 200);
    const data = operation.responses?.['200']?.content?.['application/json']?.schema ?? {};
    const responses: Record<string, unknown> = {
      [status]: {
        description: route.meta.message ?? 'Success',
        headers: responseHeaders(route.method, status, route.meta.cache !== undefined),
        // A streamed file is the body itself, a redirect has none; errors still use the envelope.
        ...(route.meta.redirect
          ? {}
          : {
              content: route.meta.stream
                ? Object.fromEntries(route.meta.stream.map((type) => [type, { schema: { type: 'string' } }]))
                : { 'application/json': { schema: successSchema(status, data) } },
            }),
      },
    };
    if (route.meta.cache) {
      responses[304] = {
        description: 'Not Modified: If-None-Match matched the current ETag; no body',
        headers: responseHeaders(route.method, 304, true),
      };
    }
    const codes = errorCodesFor(route, inputOf(operation));
    for (const httpStatus of [...new Set(codes.map((code) => ERROR_CODES[code].status))].sort((a, b) => a - b)) {
      const atStatus = codes.filter((code) => ERROR_CODES[code].status === httpStatus);
      responses[httpStatus] = {
        description: `${STATUS_CODES[httpStatus]}: ${atStatus.join(', ')}`,
        headers: responseHeaders(route.method, httpStatus),
        content: { 'application/json': { schema: errorSchema(httpStatus, atStatus) } },
      };
    }
    operation.responses = responses as GeneratedOperation['responses'];
    // A meta.form route takes the same fields as a form too (a SAML response posted by an IdP's page).
    const content = operation.requestBody?.content;
    if (route.meta.form && content?.['application/json']) {
      content['application/x-www-form-urlencoded'] = content['application/json'];
    }
    // A meta.rawBody route reads the provider's signed body as it is, and the signature from a header.
    if (route.meta.rawBody) {
      operation.requestBody = {
        content: {
          'application/json': { schema: { type: 'object', description: 'The event, as the provider sent it' } },
        },
      };
      operation.parameters = [
        ...(operation.parameters ?? []),
        { in: 'header', name: route.meta.rawBody.signatureHeader, required: true, schema: { type: 'string' } },
      ];
    }
    operation.security = securityFor(route.meta);
    const headerParameters = [
      'RequestId',
      ...(route.method === 'POST' ? ['IdempotencyKey'] : []),
      ...(route.meta.cache ? ['IfNoneMatch'] : []),
    ];
    operation.parameters = [
      ...(operation.parameters ?? []),
      ...headerParameters.map((name) => ({ $ref: `#/components/parameters/${name}` })),
    ];
    operation.description =
      [operation.description, ...requirements(route.meta)].filter(Boolean).join('\n\n') || undefined;
    for (const tag of operation.tags ?? []) if (!tags.includes(tag)) tags.push(tag);
  }
  doc.tags = tags.map((name) => (TAG_DESCRIPTIONS[name] ? { name, description: TAG_DESCRIPTIONS[name] } : { name }));
  return doc;
}
