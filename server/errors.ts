/**
 * The one closed set of error codes (API.md section 4) and their HTTP statuses.
 *
 * - Procedures throw `ApiError(code, message, meta?)`; nothing else decides a status.
 * - Every other error (tRPC's own, zod's, body parsing, the database) is translated here, once,
 *   by `toApiError`; anything unrecognised is INTERNAL_ERROR with a generic message, its detail
 *   kept for the server log only.
 * - An error that refuses a request before the procedure's logic runs (a spent budget, a credential,
 *   scope or tenancy check, input that fails its schema) is marked `refusal`: it says nothing about
 *   what the logic would answer, so an Idempotency-Key must not keep it.
 */
import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { isDatabaseUnavailable } from './database-errors.js';

export const ERROR_CODES = {
  VALIDATION_ERROR: { status: 400, trpc: 'BAD_REQUEST' },
  BAD_REQUEST: { status: 400, trpc: 'BAD_REQUEST' },
  // As documented: an oversized body is a 400, not 413.
  PAYLOAD_TOO_LARGE: { status: 400, trpc: 'PAYLOAD_TOO_LARGE' },
  AUTHENTICATION_REQUIRED: { status: 401, trpc: 'UNAUTHORIZED' },
  NO_TOKEN_PROVIDED: { status: 401, trpc: 'UNAUTHORIZED' },
  INVALID_OR_EXPIRED_TOKEN: { status: 401, trpc: 'UNAUTHORIZED' },
  INVALID_API_KEY: { status: 401, trpc: 'UNAUTHORIZED' },
  USER_NOT_ACTIVE: { status: 401, trpc: 'UNAUTHORIZED' },
  INVALID_CREDENTIALS: { status: 401, trpc: 'UNAUTHORIZED' },
  INSUFFICIENT_PERMISSIONS: { status: 403, trpc: 'FORBIDDEN' },
  NO_SCOPES_AVAILABLE: { status: 403, trpc: 'FORBIDDEN' },
  // A session user with no permissions resolved at all (no role in the organization).
  NO_PERMISSIONS: { status: 403, trpc: 'FORBIDDEN' },
  API_KEY_MISSING_SCOPES: { status: 403, trpc: 'FORBIDDEN' },
  FORBIDDEN: { status: 403, trpc: 'FORBIDDEN' },
  MFA_REQUIRED: { status: 403, trpc: 'FORBIDDEN' },
  TENANT_CONTEXT_MISSING: { status: 403, trpc: 'FORBIDDEN' },
  TENANT_VIOLATION: { status: 403, trpc: 'FORBIDDEN' },
  EMAIL_NOT_VERIFIED: { status: 403, trpc: 'FORBIDDEN' },
  CSRF_REJECTED: { status: 403, trpc: 'FORBIDDEN' },
  // A security action needs the current password, or a strong sign-in within the last 10 minutes.
  REAUTHENTICATION_REQUIRED: { status: 403, trpc: 'FORBIDDEN' },
  // The organization requires members of its verified domains to sign in through its SSO connection.
  SSO_REQUIRED: { status: 403, trpc: 'FORBIDDEN' },
  // Federated sign-in (social, enterprise SSO); `meta.reason` names the check that failed.
  // The flow's state is unknown, expired, already used, or was started in another browser.
  INVALID_FEDERATION_STATE: { status: 400, trpc: 'BAD_REQUEST' },
  // The provider's answer failed verification: issuer, audience, signature, expiry, replay, an
  // unasked SAML response, or the provider refused the sign-in.
  FEDERATION_FAILED: { status: 401, trpc: 'UNAUTHORIZED' },
  // The address the provider asserted is not on a domain the connection serves and the organization verified.
  DOMAIN_NOT_VERIFIED: { status: 403, trpc: 'FORBIDDEN' },
  // An account with the provider's address exists but may not be linked to it (the provider does
  // not vouch for the address, or the account never verified it): never merged silently.
  ACCOUNT_NOT_LINKED: { status: 409, trpc: 'CONFLICT' },
  // A publishable key (pk_…) whose project is a draft, paused or deleted, or a published form of such a project.
  PROJECT_NOT_ACTIVE: { status: 403, trpc: 'FORBIDDEN' },
  // A seat, project or event allowance of the organization's plan is spent; meta.limit, meta.usage, meta.tier.
  PLAN_LIMIT_REACHED: { status: 403, trpc: 'FORBIDDEN' },
  NOT_FOUND: { status: 404, trpc: 'NOT_FOUND' },
  METHOD_NOT_ALLOWED: { status: 405, trpc: 'METHOD_NOT_SUPPORTED' },
  CONFLICT: { status: 409, trpc: 'CONFLICT' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, trpc: 'CONFLICT' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, trpc: 'CONFLICT' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, trpc: 'UNSUPPORTED_MEDIA_TYPE' },
  RATE_LIMIT_ERROR: { status: 429, trpc: 'TOO_MANY_REQUESTS' },
  INTERNAL_ERROR: { status: 500, trpc: 'INTERNAL_SERVER_ERROR' },
  SERVICE_UNAVAILABLE: { status: 503, trpc: 'SERVICE_UNAVAILABLE' },
  // Checkout or the customer portal while no STRIPE_SECRET_KEY is configured.
  BILLING_NOT_CONFIGURED: { status: 503, trpc: 'SERVICE_UNAVAILABLE' },
} as const satisfies Record<string, { status: number; trpc: TRPC_ERROR_CODE_KEY }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export type ErrorMeta = Record<string, unknown>;

export interface FieldError {
  field: string;
  error: string;
  location: 'body' | 'query' | 'params';
}

export const RATE_LIMIT_MESSAGE = 'Too many requests from this IP, please try again later.';
const INTERNAL_MESSAGE =
  'Something went wrong on our side. The error has been logged; quote the request id when reporting it.';

export class ApiError extends TRPCError {
  readonly apiCode: ErrorCode;
  readonly status: number;
  readonly meta: ErrorMeta;
  /** Decided before the procedure's logic ran (see the list above); false for what the logic threw. */
  readonly refusal: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    meta: ErrorMeta = {},
    options: { cause?: unknown; refusal?: boolean } = {},
  ) {
    super({ code: ERROR_CODES[code].trpc, message, cause: options.cause });
    this.name = 'ApiError';
    this.apiCode = code;
    this.status = ERROR_CODES[code].status;
    this.meta = meta;
    this.refusal = options.refusal ?? false;
  }
}

interface ZodLikeIssue {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
}

function isZodError(error: unknown): error is { issues: ZodLikeIssue[] } {
  return (
    error instanceof Error &&
    (error.name === 'ZodError' || error.name === '$ZodError') &&
    Array.isArray((error as { issues?: unknown }).issues)
  );
}

/** zod issues as `{field, error, location}`; `location` is refined by the adapter that knows the route. */
export function fieldErrors(issues: ZodLikeIssue[], location: FieldError['location']): FieldError[] {
  const errors: FieldError[] = [];
  for (const issue of issues) {
    const prefix = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      for (const key of issue.keys) {
        errors.push({ field: prefix ? `${prefix}.${key}` : key, error: 'Unknown field', location });
      }
      continue;
    }
    errors.push({ field: prefix || '(root)', error: issue.message, location });
  }
  return errors;
}

/** The message of a VALIDATION_ERROR: the one bad field named, or how many there are. */
export function validationMessage(errors: FieldError[]): string {
  const first = errors[0];
  return first && errors.length === 1
    ? `Invalid ${first.field}: ${first.error}`
    : `The request has ${errors.length} invalid fields`;
}

function validationError(issues: ZodLikeIssue[], location: FieldError['location'], refusal: boolean): ApiError {
  const errors = fieldErrors(issues, location);
  return new ApiError('VALIDATION_ERROR', validationMessage(errors), { errors }, { refusal });
}

const FROM_TRPC: Partial<Record<TRPC_ERROR_CODE_KEY, [ErrorCode, string]>> = {
  PARSE_ERROR: ['BAD_REQUEST', 'The request body is not valid JSON'],
  BAD_REQUEST: ['BAD_REQUEST', 'The request could not be read'],
  PAYLOAD_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'The request body exceeds 10 MiB'],
  UNSUPPORTED_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be JSON (Content-Type: application/json)'],
  NOT_FOUND: ['NOT_FOUND', 'No such route'],
  METHOD_NOT_SUPPORTED: ['METHOD_NOT_ALLOWED', 'This route does not accept that method'],
  TOO_MANY_REQUESTS: ['RATE_LIMIT_ERROR', RATE_LIMIT_MESSAGE],
  SERVICE_UNAVAILABLE: ['SERVICE_UNAVAILABLE', 'The service is temporarily unavailable'],
};

export const SERVICE_UNAVAILABLE_MESSAGE = 'The database is unreachable; please retry shortly';

/**
 * Translates anything thrown into an ApiError. `location` says where a zod failure's fields came
 * from when the caller cannot tell better (tRPC: query input or mutation body).
 */
export function toApiError(error: unknown, location: FieldError['location'] = 'body'): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof TRPCError) {
    if (error.cause instanceof ApiError) return error.cause;
    // tRPC reports its input parser's failures as BAD_REQUEST; a ZodError escaping a resolver comes
    // wrapped as INTERNAL_SERVER_ERROR, and is the logic's own answer.
    if (isZodError(error.cause)) return validationError(error.cause.issues, location, error.code === 'BAD_REQUEST');
    if (isDatabaseUnavailable(error.cause)) {
      return new ApiError(
        'SERVICE_UNAVAILABLE',
        SERVICE_UNAVAILABLE_MESSAGE,
        { retryAfter: 5 },
        { cause: error.cause },
      );
    }
    const mapped = FROM_TRPC[error.code];
    if (mapped) return new ApiError(mapped[0], mapped[1], {}, { cause: error });
  } else if (isDatabaseUnavailable(error)) {
    return new ApiError('SERVICE_UNAVAILABLE', SERVICE_UNAVAILABLE_MESSAGE, { retryAfter: 5 }, { cause: error });
  } else if (isZodError(error)) {
    return validationError(error.issues, location, false);
  }
  return new ApiError('INTERNAL_ERROR', INTERNAL_MESSAGE, {}, { cause: error });
}
