/**
 * The OpenAPI 3.1 document at GET /api/openapi.json.
 *
 * trpc-to-openapi documents raw procedure outputs and tRPC-style errors; this file rewrites each
 * operation so that what it documents is what the REST adapter sends: the success envelope around
 * the output (lists as `data` + pagination `meta`), the operation's real success status, and one
 * error response per status the operation can produce, each naming its codes.
 */
import type { AnyRouter } from '@trpc/server';
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { ERROR_CODES, type ErrorCode } from '../../server/errors.js';
import type { Tier } from '../../server/trpc.js';
import { VERSION } from '../../server/version.js';
import type { RestRoute } from './routes.js';

type Schema = Record<string, unknown>;

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The codes an operation can answer with, from its tier and shape. */
export function errorCodesFor(route: RestRoute): ErrorCode[] {
  const tier: Tier | undefined = route.meta.tier;
  const codes: ErrorCode[] = ['VALIDATION_ERROR', 'RATE_LIMIT_ERROR', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE'];
  if (BODY_METHODS.has(route.method)) codes.push('BAD_REQUEST', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE');
  if (BODY_METHODS.has(route.method) && route.meta.openapi?.path.startsWith('/user')) {
    codes.push('IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_IN_USE');
  }
  if (tier === 'user' || tier === 'tenant') {
    codes.push('AUTHENTICATION_REQUIRED', 'NO_TOKEN_PROVIDED', 'INVALID_OR_EXPIRED_TOKEN', 'INVALID_API_KEY', 'USER_NOT_ACTIVE');
    codes.push('FORBIDDEN', 'INSUFFICIENT_PERMISSIONS', 'NO_SCOPES_AVAILABLE', 'API_KEY_MISSING_SCOPES', 'CSRF_REJECTED');
  }
  if (tier === 'tenant') codes.push('TENANT_CONTEXT_MISSING', 'TENANT_VIOLATION', 'NO_PERMISSIONS', 'MFA_REQUIRED');
  if (route.pathParams.length > 0) codes.push('NOT_FOUND');
  return codes;
}

const ENVELOPE_KEYS = ['success', 'status', 'code', 'message', 'data', 'meta'];

function successSchema(status: number, data: Schema): Schema {
  const isList = data.type === 'object' && typeof data.properties === 'object' && data.properties !== null && 'items' in data.properties && 'hasMore' in data.properties;
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

const ERROR_ENVELOPE: Schema = {
  type: 'object',
  required: ENVELOPE_KEYS,
  properties: {
    success: { const: false },
    status: { type: 'integer', minimum: 400 },
    code: { type: 'string', enum: Object.keys(ERROR_CODES) },
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

const RATE_LIMIT_HEADERS = {
  'X-Request-Id': { description: 'The request id, echoed or generated', schema: { type: 'string' } },
  'RateLimit-Limit': { description: 'Requests allowed in the most restrictive window that applied', schema: { type: 'integer' } },
  'RateLimit-Remaining': { description: 'Requests left in that window', schema: { type: 'integer' } },
  'RateLimit-Reset': { description: 'Seconds until that window resets', schema: { type: 'integer' } },
};

const SECURITY_SCHEMES = {
  sessionCookie: { type: 'apiKey', in: 'cookie', name: 'session', description: '`__Host-session` over https' },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'Personal access token `ba_…`' },
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'OAuth 2.1 access token' },
} as const;

function securityFor(route: RestRoute): Record<string, string[]>[] | undefined {
  const tier = route.meta.tier;
  if (tier !== 'user' && tier !== 'tenant') return [];
  if (route.meta.sessionOnly) return [{ sessionCookie: [] }];
  const scopes = route.meta.scopes ?? [];
  return [{ sessionCookie: [] }, { apiKey: scopes }, { bearer: scopes }];
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
    securitySchemes: { ...SECURITY_SCHEMES },
  });

  doc.components = {
    ...doc.components,
    schemas: { ...doc.components?.schemas, ErrorEnvelope: ERROR_ENVELOPE, PageMeta: PAGE_META },
    headers: { ...doc.components?.headers },
  };

  for (const route of routes) {
    const operation = doc.paths?.[route.path]?.[route.method.toLowerCase() as 'get'];
    if (!operation) continue;
    const status = route.meta.status ?? 200;
    const generated = operation.responses?.['200'] as { content?: Record<string, { schema?: Schema }> } | undefined;
    const data = generated?.content?.['application/json']?.schema ?? {};

    const responses: Record<string, unknown> = {
      [status]: {
        description: route.meta.message ?? 'Success',
        headers: RATE_LIMIT_HEADERS,
        // A streamed file is the body itself; errors before it starts still use the envelope.
        content: route.meta.stream
          ? { 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } }
          : { 'application/json': { schema: successSchema(status, data) } },
      },
    };
    const byStatus = new Map<number, ErrorCode[]>();
    for (const code of errorCodesFor(route)) {
      const httpStatus = ERROR_CODES[code].status;
      byStatus.set(httpStatus, [...(byStatus.get(httpStatus) ?? []), code]);
    }
    for (const [httpStatus, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
      const headers: Record<string, unknown> = { ...RATE_LIMIT_HEADERS };
      if (httpStatus === 429 || httpStatus === 503) {
        headers['Retry-After'] = { description: 'Seconds to wait before retrying', schema: { type: 'integer' } };
      }
      responses[httpStatus] = {
        description: `Error: ${codes.join(', ')}`,
        headers,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
      };
    }
    operation.responses = responses as typeof operation.responses;
    const security = securityFor(route);
    if (security) operation.security = security;
    if (route.meta.scopes?.length) {
      operation.description = [operation.description, `Scopes: ${route.meta.scopes.join(', ')}.`].filter(Boolean).join('\n\n');
    }
    if (route.meta.permission) {
      operation.description = [operation.description, `Permission: ${route.meta.permission}.`].filter(Boolean).join('\n\n');
    }
  }
  return doc;
}
