/**
 * tRPC initialisation and the tier builders. Feature code imports only the builders below, never
 * `t.procedure`, so every procedure gets, in this order:
 *
 * - the rate-limit guard: the global per-IP budget plus the budgets named in `meta.rateLimit`,
 *   spent concurrently; refusal is 429 RATE_LIMIT_ERROR with Retry-After, never anything else;
 *   then no string of the raw input, value or object key at any depth, may hold a NUL byte
 *   (VALIDATION_ERROR naming each such field), whatever the procedure's schema;
 * - its tier's checks (a principal for user routes, scopes, session-only routes);
 * - errors shaped once, by `toApiError`, with our code in `error.data.code`.
 */
import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { BudgetName } from './config.js';
import type { AuthResult } from './auth/credentials.js';
import type { Context, Principal } from './context.js';
import {
  ApiError,
  RATE_LIMIT_MESSAGE,
  toApiError,
  validationMessage,
  type ErrorCode,
  type ErrorMeta,
  type FieldError,
} from './errors.js';
import { clientKey, mostRestrictive, type RateLimitResult } from './rate-limit.js';
import { ssoUrls } from './sso-urls.js';
import { ULID_PATTERN } from './ids.js';
import { ROLE_PERMISSIONS, type Permission, type Scope } from './scopes.js';
import { loadMembership, MFA_SETUP, mfaBlocks, ssoRequiredConnection, type Membership } from './tenancy.js';

export type Tier = 'public' | 'auth' | 'user' | 'tenant' | 'webhook';

export type Meta = OpenApiMeta<{
  /** Set by the tier builder; a procedure without one cannot exist. */
  tier?: Tier;
  /** The envelope's success message, e.g. "Project created successfully". */
  message?: string;
  /** Success status on REST: 200 by default, 201 for creates, 202 for accepted work. */
  status?: 200 | 201 | 202;
  /** Scopes a token (PAT or OAuth) must carry; sessions carry every user-facing scope. */
  scopes?: Scope[];
  /** Tenant permission the member's role must grant. */
  permission?: Permission;
  /** Budgets spent in addition to the global one (API.md section 8). */
  rateLimit?: BudgetName[];
  /** Credential and security management: a session cookie, never a token. */
  sessionOnly?: boolean;
  /**
   * Mints something that outlives the session or reaches other people (API keys, OAuth clients,
   * invitations): refused with EMAIL_NOT_VERIFIED until the user has proven the address is theirs.
   */
  verifiedEmail?: boolean;
  /** Tenant routes only an owner may use (transfer ownership, delete the organization). */
  ownerOnly?: boolean;
  /**
   * Tenant routes a member shut out by the organization's MFA or SSO-required policy may still use, to
   * see why and act (my-membership, leave); every other tenant route answers them MFA_REQUIRED or
   * SSO_REQUIRED.
   */
  mfaExempt?: boolean;
  /**
   * A security action confirmed by `requireStepUp` (procedures/shared/step-up.ts): the password, or a
   * recent strong sign-in; documents REAUTHENTICATION_REQUIRED. The procedure still makes the call.
   */
  stepUp?: boolean;
  /**
   * Codes the procedure's own logic answers that its tier, input fields and the flags above do not
   * imply (a wrong one-time code, a dead sign-in challenge); the OpenAPI document lists them.
   */
  errors?: ErrorCode[];
  /**
   * The output is a file: `{ filename, contentType, lines: AsyncIterable<string> }`, which REST
   * streams as the body instead of the envelope; the list names the content types it may have (the
   * OpenAPI document shows them).
   */
  stream?: string[];
  /**
   * The output is `{ location }`, where the browser goes next: REST answers 303 See Other with that
   * Location and no body (a link opened from mail); tRPC and direct callers get the object.
   */
  redirect?: boolean;
  /**
   * The REST body may also be `application/x-www-form-urlencoded` (a SAML response arrives by the
   * POST binding as a form an identity provider's page submits); fields are strings.
   */
  form?: boolean;
  /** The output holds a secret shown once (a new API key): an idempotent retry must not show it again. */
  secret?: boolean;
  /**
   * An anonymous GET whose answer is the same for every caller (a public widget): REST answers success
   * with `Cache-Control: public, max-age=<maxAge>` (seconds) and a strong ETag of the body it sends,
   * and 304 without a body when If-None-Match matches that ETag; errors are `no-store`. The procedure
   * still runs on every request, so the ETag is always that of the current answer.
   * @example publicProcedure.meta({ openapi: { method: 'GET', path: '/public/widgets/{widgetId}' }, cache: { maxAge: 60 } })
   */
  cache?: { maxAge: number };
  /**
   * REST hands the body over exactly as received, for a signature over its bytes (a provider's
   * webhook): any media type, 1 MiB at most, UTF-8, never parsed; the input is
   * `{ payload, signature }`: the body as text and the named request header ('' when absent).
   * @example webhookProcedure.meta({ openapi: { method: 'POST', path: '/webhook/stripe' }, rawBody: { signatureHeader: 'stripe-signature' } })
   */
  rawBody?: { signatureHeader: string };
}>;

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    errorFormatter({ shape, error, type, ctx }) {
      const apiError = toApiError(error, type === 'query' ? 'query' : 'body');
      const meta = ctx ? { ...apiError.meta, requestId: ctx.requestId } : apiError.meta;
      return {
        message: apiError.message,
        code: shape.code,
        data: { code: apiError.apiCode, httpStatus: apiError.status, path: shape.data.path, meta },
      };
    },
  });

export const router = t.router;
export const mergeRouters = t.mergeRouters;
export const createCallerFactory = t.createCallerFactory;

export const RATE_LIMIT_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'] as const;

export function setRateLimitHeaders(res: Context['res'], result: RateLimitResult): void {
  if (!res) return;
  const values = [result.limit, result.remaining, result.resetSeconds];
  for (const [i, name] of RATE_LIMIT_HEADERS.entries()) res.setHeader(name, String(values[i]));
  if (!result.allowed) res.setHeader('Retry-After', String(result.resetSeconds));
}

/**
 * An error of the guard or a tier's checks: the request is refused before the procedure's logic runs,
 * so an Idempotency-Key does not keep the answer (adapters/rest/idempotency.ts).
 */
export function refuse(code: ErrorCode, message: string, meta?: ErrorMeta): ApiError {
  return new ApiError(code, message, meta, { refusal: true });
}

export function rateLimitError(result: RateLimitResult): ApiError {
  return refuse('RATE_LIMIT_ERROR', RATE_LIMIT_MESSAGE, {
    message: RATE_LIMIT_MESSAGE,
    retryAfter: result.resetSeconds,
  });
}

/**
 * Spends budgets keyed by something other than the client address (an address and a form, a
 * publishable key, a mail's recipient), all at once; throws RATE_LIMIT_ERROR, with the refusing
 * budget's headers, when one is spent. An allowed spend leaves the guard's RateLimit-* headers as they are.
 */
export async function spendBudgets(ctx: Context, spends: [budget: BudgetName, key: string][]): Promise<void> {
  const results = await Promise.all(spends.map(([budget, key]) => ctx.services.limiter.consume(budget, key)));
  const refused = results.find((result) => !result.allowed);
  if (refused) {
    setRateLimitHeaders(ctx.res, refused);
    throw rateLimitError(refused);
  }
}

/** Enough to show the pattern; a body of ten thousand NULs does not need ten thousand lines back. */
const MAX_NAMED_FIELDS = 20;

/**
 * The fields of an input whose string value or object key holds a NUL byte, as a VALIDATION_ERROR;
 * undefined when there is none. PostgreSQL's text and jsonb refuse NUL mid-write, and C-string
 * consumers cut at it, so it is refused before any logic sees it. The walk is iterative: no nesting
 * can exhaust the stack.
 */
export function nulByteError(input: unknown, location: FieldError['location']): ApiError | undefined {
  const errors: FieldError[] = [];
  const named = (field: string) =>
    errors.push({ field: field.replaceAll('\0', '\\u0000'), error: 'Must not contain a NUL byte (\\u0000)', location });
  const pending: [value: unknown, field: string][] = [[input, '']];
  const seen = new Set<object>();
  while (pending.length > 0 && errors.length < MAX_NAMED_FIELDS) {
    const [value, field] = pending.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\0')) named(field || '(root)');
    } else if (typeof value === 'object' && value !== null && !seen.has(value)) {
      seen.add(value);
      for (const [key, item] of Object.entries(value)) {
        const path = field ? `${field}.${key}` : key;
        if (key.includes('\0')) named(path);
        else pending.push([item, path]);
      }
    }
  }
  return errors.length > 0 ? refuse('VALIDATION_ERROR', validationMessage(errors), { errors }) : undefined;
}

const NO_AUTH: AuthResult = { principal: null };

/**
 * The guard every procedure carries (the router test checks that none lacks it): spends the budgets
 * and, on tiers that read credentials, resolves the credential in the same breath; then refuses NUL
 * bytes anywhere in the raw input, before the procedure's schema parses it.
 */
export const rateLimitGuard = t.middleware(async ({ ctx, meta, type, getRawInput, next }) => {
  const key = clientKey(ctx.ip);
  // The HTTP adapters spend the global budget when the headers arrive, before reading the body, and
  // hand the result over; a direct call spends it here.
  const early = ctx.globalBudget;
  const budgets: BudgetName[] = [...(early ? [] : ['global' as const]), ...(meta?.rateLimit ?? [])];
  const readsCredentials = meta?.tier !== 'public' && meta?.tier !== 'webhook';
  const [results, auth] = await Promise.all([
    Promise.all(budgets.map((budget) => ctx.services.limiter.consume(budget, key))),
    readsCredentials ? ctx.authenticate() : NO_AUTH,
  ]);
  const worst = mostRestrictive(early ? [early, ...results] : results);
  if (worst) setRateLimitHeaders(ctx.res, worst);
  if (worst && !worst.allowed) throw rateLimitError(worst);
  const nul = nulByteError(await getRawInput(), type === 'query' ? 'query' : 'body');
  if (nul) throw nul;
  if (readsCredentials) {
    // Filled in place rather than merged: each merge copies the whole context (tRPC spreads it), and
    // the tiers that need a principal merge it once, narrowed, themselves. A refused credential is
    // thrown by those tiers, before the logic runs.
    ctx.principal = auth.principal;
    ctx.authError =
      auth.error &&
      new ApiError(auth.error.apiCode, auth.error.message, auth.error.meta, { cause: auth.error.cause, refusal: true });
  }
  return next();
});

const guarded = t.procedure.use(rateLimitGuard);

/**
 * No credential needed: health, public forms, widgets, tracking.
 * @example publicProcedure.meta({ openapi: { method: 'GET', path: '/public/health' }, message: '…' })
 */
export const publicProcedure = guarded.meta({ tier: 'public' });

/**
 * The sign-in family under /api/auth: open to anonymous callers, per-endpoint checks inside.
 * @example authProcedure.meta({ openapi: { method: 'POST', path: '/auth/sign-in/email' }, rateLimit: ['signIn'] })
 */
export const authProcedure = guarded.meta({ tier: 'auth' });

/** The principal a user-facing tier requires, checked against the route's meta; throws the refusal. */
function requiredPrincipal(ctx: Context, meta: Meta | undefined): Principal {
  if (ctx.authError) throw ctx.authError;
  const principal = ctx.principal;
  if (!principal) throw refuse('AUTHENTICATION_REQUIRED', 'Sign in or send a credential to use this route');
  if (meta?.sessionOnly && principal.kind !== 'session') {
    throw refuse('FORBIDDEN', 'This route accepts only a signed-in session, not a token');
  }
  // An address typed in at sign-up proves nothing: whoever registered someone else's email must not
  // leave behind keys, clients or co-owners that survive the real owner's reset (account pre-hijacking).
  if (meta?.verifiedEmail && !principal.emailVerified) {
    throw refuse('EMAIL_NOT_VERIFIED', 'Verify your email address first; the link is in the email we sent you');
  }
  if (principal.kind !== 'session') {
    if (principal.scopes.size === 0) throw refuse('NO_SCOPES_AVAILABLE', 'This credential carries no scopes');
    const missing = (meta?.scopes ?? []).filter((scope) => !principal.scopes.has(scope));
    if (missing.length > 0) {
      const code = principal.kind === 'apiKey' ? 'API_KEY_MISSING_SCOPES' : 'INSUFFICIENT_PERMISSIONS';
      throw refuse(code, `This credential lacks the scopes: ${missing.join(', ')}`, { requiredScopes: missing });
    }
  }
  return principal;
}

const requirePrincipal = t.middleware(({ ctx, meta, next }) =>
  next({ ctx: { principal: requiredPrincipal(ctx, meta) } }),
);

/**
 * Account routes under /api/user: a principal is required, its scopes must cover `meta.scopes`,
 * and `meta.sessionOnly` routes refuse tokens.
 * @example userProcedure.meta({ openapi: { method: 'GET', path: '/user/me' }, scopes: ['user:read'] })
 */
export const userProcedure = guarded.meta({ tier: 'user' }).use(requirePrincipal);

/**
 * Routes under /api/auth that act for a principal and accept tokens too (the API-key routes):
 * a principal is required and its scopes must cover `meta.scopes`, as on user routes.
 * @example credentialProcedure.meta({ openapi: { method: 'GET', path: '/auth/api-key/list' }, scopes: ['api-keys:read'] })
 */
export const credentialProcedure = guarded.meta({ tier: 'auth' }).use(requirePrincipal);

/**
 * Credential management under /api/auth (sessions, password, email): a signed-in session only.
 * @example sessionProcedure.meta({ openapi: { method: 'POST', path: '/auth/change-password' } })
 */
export const sessionProcedure = guarded.meta({ tier: 'auth', sessionOnly: true }).use(requirePrincipal);

/**
 * Tenant routes under /api/user/organizations/{organizationId}: a principal as for user routes, then
 * - the organizationId of the input must be a well-formed id (TENANT_CONTEXT_MISSING);
 * - an organization-pinned token may only use its own organization (FORBIDDEN);
 * - the caller must be a member; a missing organization answers the same (FORBIDDEN);
 * - while a `required` SSO connection of the organization serves the verified domain of the member's
 *   email, a credential not signed in through this organization's SSO (a session that was not, a key
 *   minted by one that was not, any OAuth bearer token) gets SSO_REQUIRED, except on `meta.mfaExempt`
 *   routes;
 * - while the organization requires MFA, a member without a second factor whose deadline has passed
 *   gets MFA_REQUIRED, whatever the credential, except on `meta.mfaExempt` routes;
 * - the member's role must grant `meta.permission` (and be owner for `meta.ownerOnly`);
 * and the logic receives `ctx.organization` and `ctx.membership`.
 * @example tenantProcedure.meta({ openapi: { method: 'GET', path: '/user/organizations/{organizationId}/projects' }, scopes: ['projects:read'], permission: 'organization:read' })
 */
export const tenantProcedure = guarded
  .meta({ tier: 'tenant' })
  // One middleware for the principal and the membership: each tRPC middleware copies the context.
  .use(async ({ ctx, meta, getRawInput, next }) => {
    const principal = requiredPrincipal(ctx, meta);
    const raw = await getRawInput();
    const organizationId =
      typeof raw === 'object' && raw !== null ? (raw as { organizationId?: unknown }).organizationId : undefined;
    if (typeof organizationId !== 'string' || !ULID_PATTERN.test(organizationId)) {
      throw refuse('TENANT_CONTEXT_MISSING', 'This route needs a well-formed organization id in its path');
    }
    if (principal.organizationId && principal.organizationId !== organizationId) {
      throw refuse('FORBIDDEN', 'This credential is pinned to another organization');
    }
    const found = await loadMembership(ctx.em, ctx.services.credentialCache, organizationId, principal.userId);
    if (!found) throw refuse('FORBIDDEN', 'You are not a member of this organization');
    // Before the permission check: a shut-out member learns what unblocks them, not what their role lacks.
    // SSO first: a second factor would not let them in, a sign-in through the identity provider might.
    const providerId = meta?.mfaExempt ? null : ssoRequiredConnection(found.ssoConnectionId, principal, organizationId);
    if (providerId) {
      throw refuse(
        'SSO_REQUIRED',
        'This organization requires members of your email domain to sign in through its single sign-on: sign in there, then try again',
        { providerId, signInUrl: ssoUrls(ctx.services.config.baseUrl, providerId).signIn },
      );
    }
    if (!meta?.mfaExempt && mfaBlocks(found.mfa, ctx.services.now())) {
      throw refuse(
        'MFA_REQUIRED',
        'This organization requires two-factor authentication or a passkey: set one up on your account, then try again',
        { deadline: found.mfa.deadline?.toISOString(), ...MFA_SETUP },
      );
    }
    const permissions = ROLE_PERMISSIONS[found.role];
    if (meta?.ownerOnly && found.role !== 'owner') {
      throw refuse('INSUFFICIENT_PERMISSIONS', 'Only an owner of the organization can do this', {
        requiredPermissions: ['owner'],
      });
    }
    if (meta?.permission && !permissions.includes(meta.permission)) {
      throw refuse('INSUFFICIENT_PERMISSIONS', `Your role (${found.role}) lacks the permission ${meta.permission}`, {
        requiredPermissions: [meta.permission],
      });
    }
    const membership: Membership = {
      id: found.memberId,
      role: found.role,
      permissions,
      joinedAt: found.joinedAt,
      mfa: found.mfa,
      ssoConnectionId: found.ssoConnectionId,
    };
    return next({ ctx: { principal, organization: found.organization, membership } });
  });

/**
 * Inbound provider callbacks under /api/webhook; each verifies its provider's signature itself.
 * @example webhookProcedure.meta({ openapi: { method: 'POST', path: '/webhook/stripe' } })
 */
export const webhookProcedure = guarded.meta({ tier: 'webhook' });
