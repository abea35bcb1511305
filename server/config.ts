/**
 * Configuration from the environment, validated once at start.
 *
 * - Every variable has a documented default (README "Configuration"); a bad value stops the start
 *   with one line per bad variable, never a half-configured server.
 * - Rate-limit budgets come from one table (API.md section 8); each is overridable as
 *   RATE_LIMIT_<NAME>_POINTS / _DURATION (seconds), e.g. RATE_LIMIT_SIGN_IN_POINTS.
 */
import { isIP } from 'node:net';
import path from 'node:path';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { planCatalogue, type PlanTier } from './plans.js';

/** The budgets of API.md section 8: points per duration (seconds), optional block after the spend. */
export const DEFAULT_BUDGETS = {
  global: { points: 500, duration: 15 * 60 },
  signIn: { points: 5, duration: 60 },
  signUp: { points: 3, duration: 60 },
  twoFactor: { points: 5, duration: 60 },
  passkey: { points: 10, duration: 60 },
  magicLink: { points: 5, duration: 60 * 60 },
  emailSend: { points: 5, duration: 60 * 60 },
  /** Invitation mail per organization (the per-address part is emailSend). */
  organizationEmail: { points: 50, duration: 60 * 60 },
  /** Failed sign-ins per email and client IP (/64 for IPv6): blocks that pair, not the account. */
  failedSignIn: { points: 10, duration: 15 * 60, blockDuration: 15 * 60 },
  /** The email-only ceiling over all addresses together, against guessing spread over many hosts. */
  failedSignInEmail: { points: 100, duration: 15 * 60, blockDuration: 15 * 60 },
  /**
   * Failed second steps (TOTP or backup code) per user, over all their sign-in challenges: each
   * challenge allows 5 tries, so this bounds guessing by someone who knows the password and starts
   * challenge after challenge; then the user's second step is blocked for 15 minutes. A success clears it.
   */
  failedSecondFactor: { points: 10, duration: 15 * 60, blockDuration: 15 * 60 },
  publicForm: { points: 10, duration: 60 },
  publicTrack: { points: 6000, duration: 60 },
  oauthToken: { points: 300, duration: 60 },
} as const satisfies Record<string, Budget>;

export type BudgetName = keyof typeof DEFAULT_BUDGETS;
export interface Budget {
  points: number;
  duration: number;
  blockDuration?: number;
}

export const BUDGET_NAMES = Object.keys(DEFAULT_BUDGETS) as BudgetName[];

/** `signIn` → `SIGN_IN`, the infix of its environment variables. */
export function budgetEnvName(name: BudgetName): string {
  return name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      if (!protocols.some((p) => v.startsWith(`${p}://`)) || !URL.canParse(v)) {
        ctx.addIssue({ code: 'custom', message: `must be a ${protocols.join(' or ')} URL` });
        return z.NEVER;
      }
      return v;
    });

const trustProxy = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx): false | number | string[] => {
    if (v === undefined || v === '' || v === 'false') return false;
    if (/^\d+$/.test(v)) return Number(v);
    const list = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    try {
      proxyaddr.compile(list);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `is not a hop count or a list of addresses/CIDRs (${(error as Error).message})`,
      });
      return z.NEVER;
    }
    return list;
  });

const positiveInt = z.coerce.number().int().positive();

/** A comma-separated list, each item checked by `problem` (a message, or undefined when it is fine). */
const commaList = (problem: (item: string) => string | undefined) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const list = (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const item of list) {
        const message = problem(item);
        if (message) ctx.addIssue({ code: 'custom', message });
      }
      return list;
    });

export const baseSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  BASE_URL: optionalUrl(['http', 'https']),
  APP_URL: optionalUrl(['http', 'https']),
  DATABASE_URL: optionalUrl(['postgres', 'postgresql']),
  REDIS_URL: optionalUrl(['redis', 'rediss']),
  RATE_LIMIT_PREFIX: z
    .string()
    .regex(/^[\w:.-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9_:.-]')
    .default('rl'),
  TRUST_PROXY: trustProxy,
  TRUSTED_ORIGINS: commaList((origin) =>
    URL.canParse(origin) && new URL(origin).origin === origin
      ? undefined
      : `"${origin}" is not an origin like https://app.example.com`,
  ),
  DATA_DIR: z.string().default('.data'),
  MAIL_DIR: z.string().optional(),
  SMTP_URL: optionalUrl(['smtp', 'smtps']),
  MAIL_FROM: z.string().default('API <no-reply@localhost>'),
  ENCRYPTION_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^[A-Za-z0-9+/_-]{43}=?$/.test(v) || /^[0-9a-f]{64}$/i.test(v), {
      message: 'must be 32 bytes as 64 hex characters or base64',
    }),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  EMBEDDED_POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  CREDENTIAL_CACHE_TTL: z.coerce.number().int().min(0).max(300).default(60),
  OAUTH_DYNAMIC_REGISTRATION: z.enum(['true', 'false']).default('false'),
  MAGIC_LINK_SIGN_UP: z.enum(['true', 'false']).default('true'),
  GOOGLE_CLIENT_ID: z.string().trim().optional(),
  GOOGLE_CLIENT_SECRET: z.string().trim().optional(),
  GOOGLE_ISSUER: optionalUrl(['https', 'http']),
  GITHUB_CLIENT_ID: z.string().trim().optional(),
  GITHUB_CLIENT_SECRET: z.string().trim().optional(),
  GITHUB_URL: optionalUrl(['https', 'http']),
  GITHUB_API_URL: optionalUrl(['https', 'http']),
  OIDC_PROVIDER_ID: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be 1-32 characters of [a-z0-9-], starting with a letter')
    .refine((v) => v !== 'google' && v !== 'github', 'must not be google or github')
    .default('oidc'),
  OIDC_ISSUER: optionalUrl(['https', 'http']),
  OIDC_CLIENT_ID: z.string().trim().optional(),
  OIDC_CLIENT_SECRET: z.string().trim().optional(),
  SSO_ALLOW_HTTP: z.enum(['true', 'false']).default('false'),
  DNS_SERVERS: commaList((server) =>
    isIP(server) || /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]):\d{1,5}$/i.test(server)
      ? undefined
      : `"${server}" is not an address, address:port or [v6]:port`,
  ),
  STRIPE_SECRET_KEY: z
    .string()
    .trim()
    .optional()
    .refine((v) => !v || /^(sk|rk)_(test|live)_\w+$/.test(v), 'must be a Stripe secret key (sk_test_…, sk_live_…)'),
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .trim()
    .optional()
    .refine((v) => !v || /^whsec_\w+$/.test(v), 'must be a webhook signing secret (whsec_…)'),
  STRIPE_API_BASE: optionalUrl(['https', 'http']),
  BILLING_PLANS: z.string().trim().optional(),
  BILLING_GRACE_DAYS: z.coerce.number().int().min(0).max(60).default(7),
  HEALTH_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(8000),
});

export type Config = ReturnType<typeof finish>;

/** A social provider the operator configured: an OpenID Connect issuer, or GitHub's OAuth 2.0. */
export type SocialProviderConfig =
  | { id: string; kind: 'oidc'; issuer: string; clientId: string; clientSecret: string }
  | { id: 'github'; kind: 'github'; webUrl: string; apiUrl: string; clientId: string; clientSecret: string };

/** The social providers with a client id and secret, by the id in /auth/social/{provider}. */
function socialProviders(base: z.output<typeof baseSchema>, problems: string[]): Map<string, SocialProviderConfig> {
  const providers = new Map<string, SocialProviderConfig>();
  const pair = (prefix: string, id?: string, secret?: string): { clientId: string; clientSecret: string } | null => {
    if (!id && !secret) return null;
    if (!id || !secret) {
      problems.push(`${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET: set both or neither`);
      return null;
    }
    return { clientId: id, clientSecret: secret };
  };
  const google = pair('GOOGLE', base.GOOGLE_CLIENT_ID, base.GOOGLE_CLIENT_SECRET);
  if (google) {
    const issuer = base.GOOGLE_ISSUER ?? 'https://accounts.google.com';
    providers.set('google', { id: 'google', kind: 'oidc', issuer, ...google });
  }
  const github = pair('GITHUB', base.GITHUB_CLIENT_ID, base.GITHUB_CLIENT_SECRET);
  if (github) {
    const webUrl = (base.GITHUB_URL ?? 'https://github.com').replace(/\/$/, '');
    const apiUrl = (base.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/$/, '');
    providers.set('github', { id: 'github', kind: 'github', webUrl, apiUrl, ...github });
  }
  const oidc = pair('OIDC', base.OIDC_CLIENT_ID, base.OIDC_CLIENT_SECRET);
  if (oidc && !base.OIDC_ISSUER) problems.push('OIDC_ISSUER: is required with OIDC_CLIENT_ID');
  if (oidc && base.OIDC_ISSUER) {
    providers.set(base.OIDC_PROVIDER_ID, {
      id: base.OIDC_PROVIDER_ID,
      kind: 'oidc',
      issuer: base.OIDC_ISSUER,
      ...oidc,
    });
  }
  return providers;
}

function finish(
  base: z.output<typeof baseSchema>,
  budgets: Record<BudgetName, Budget>,
  social: Map<string, SocialProviderConfig>,
  tiers: PlanTier[],
) {
  const baseUrl = base.BASE_URL ?? `http://localhost:${base.PORT}`;
  return {
    nodeEnv: base.NODE_ENV,
    port: base.PORT,
    host: base.HOST,
    baseUrl,
    appUrl: (base.APP_URL ?? baseUrl).replace(/\/$/, ''),
    databaseUrl: base.DATABASE_URL,
    redisUrl: base.REDIS_URL,
    rateLimitPrefix: base.RATE_LIMIT_PREFIX,
    trustProxy: base.TRUST_PROXY,
    trustedOrigins: base.TRUSTED_ORIGINS.length > 0 ? base.TRUSTED_ORIGINS : [new URL(baseUrl).origin],
    dataDir: path.resolve(base.DATA_DIR),
    mailDir: path.resolve(base.MAIL_DIR || path.join(base.DATA_DIR, 'mail')),
    smtpUrl: base.SMTP_URL,
    mailFrom: base.MAIL_FROM,
    encryptionKey: base.ENCRYPTION_KEY || undefined,
    logLevel: base.LOG_LEVEL,
    /** Unset: pretty on a terminal outside production, JSON otherwise (server/main.ts decides). */
    logFormat: base.LOG_FORMAT,
    embeddedPostgresPort: base.EMBEDDED_POSTGRES_PORT,
    credentialCacheTtl: base.CREDENTIAL_CACHE_TTL,
    oauthDynamicRegistration: base.OAUTH_DYNAMIC_REGISTRATION === 'true',
    /** Whether a magic link to an address without an account creates one when it is used. */
    magicLinkSignUp: base.MAGIC_LINK_SIGN_UP === 'true',
    /** Social sign-in providers by id (google, github, OIDC_PROVIDER_ID); absent ones answer NOT_FOUND. */
    socialProviders: social,
    /** Whether organizations' SSO connections may name http:// (not https) identity providers: tests and local IdPs. */
    ssoAllowHttp: base.SSO_ALLOW_HTTP === 'true',
    /** Resolvers for domain verification (address or address:port); empty: the system's. */
    dnsServers: base.DNS_SERVERS,
    healthCacheMs: base.HEALTH_CACHE_MS,
    shutdownTimeoutMs: base.SHUTDOWN_TIMEOUT_MS,
    budgets,
    billing: {
      /** Unset: every organization is on the free tier, and checkout and portal answer BILLING_NOT_CONFIGURED. */
      stripe: base.STRIPE_SECRET_KEY
        ? {
            secretKey: base.STRIPE_SECRET_KEY,
            webhookSecret: base.STRIPE_WEBHOOK_SECRET,
            apiBase: base.STRIPE_API_BASE,
          }
        : undefined,
      tiers,
      /** Days a past_due subscription keeps its tier before the free limits apply. */
      graceDays: base.BILLING_GRACE_DAYS,
    },
  };
}

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Reads and validates the configuration; throws ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const parsed = baseSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${String(issue.path[0])}: ${issue.message}`);
  }

  const budgets = {} as Record<BudgetName, Budget>;
  for (const name of BUDGET_NAMES) {
    const budget: Budget = { ...DEFAULT_BUDGETS[name] };
    for (const field of ['points', 'duration'] as const) {
      const variable = `RATE_LIMIT_${budgetEnvName(name)}_${field.toUpperCase()}`;
      const raw = env[variable];
      if (raw === undefined || raw === '') continue;
      const value = positiveInt.safeParse(raw);
      if (value.success) budget[field] = value.data;
      else problems.push(`${variable}: must be a positive integer`);
    }
    budgets[name] = budget;
  }

  if (parsed.success && parsed.data.NODE_ENV === 'production' && !parsed.data.ENCRYPTION_KEY) {
    problems.push('ENCRYPTION_KEY: is required in production (it encrypts the OAuth signing keys)');
  }
  const social = parsed.success ? socialProviders(parsed.data, problems) : new Map<string, SocialProviderConfig>();
  const tiers = planCatalogue(env, problems);
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return finish(parsed.data, budgets, social, tiers);
}
