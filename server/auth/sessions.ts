/**
 * Session cookies (API.md section 6).
 *
 * - The cookie holds 32 random bytes; the database holds only their SHA-256.
 * - A session ends 30 days after sign-in, or after 7 days unused; use slides `lastSeenAt` forward at
 *   most once a day, so the hot path is one indexed read and almost never a write.
 * - `__Host-session` over https, `session` on plain http; HttpOnly, Secure, SameSite=Lax, Path=/.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { SessionSchema, type AuthMethod } from '../../entities/session.js';
import type { Config } from '../config.js';
import { randomToken, sha256Hex, TOKEN_PATTERN } from '../crypto.js';
import { toDate, toDateOrNull } from '../database.js';
import type { CredentialCache } from './credential-cache.js';
import { newId } from '../ids.js';
import { preparedRows } from '../sql.js';

const DAY_MS = 24 * 60 * 60 * 1000;
export const SESSION_ABSOLUTE_MS = 30 * DAY_MS;
export const SESSION_IDLE_MS = 7 * DAY_MS;
export const SESSION_REFRESH_MS = DAY_MS;

/** A cookie's name: `__Host-` prefixed over https (bound to this host, Secure, Path=/), bare on plain http. */
export function hostCookieName(config: Pick<Config, 'baseUrl'>, name: string): string {
  return config.baseUrl.startsWith('https:') ? `__Host-${name}` : name;
}

export function sessionCookieName(config: Pick<Config, 'baseUrl'>): string {
  return hostCookieName(config, 'session');
}

/** The value of cookie `name` in a Cookie header, if any (and not empty). */
export function readCookie(cookieHeader: string | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

export function sessionCookie(config: Pick<Config, 'baseUrl'>, token: string, expiresAt: Date, now: Date): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
  return `${sessionCookieName(config)}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Lax`;
}

export function clearedSessionCookie(config: Pick<Config, 'baseUrl'>): string {
  return `${sessionCookieName(config)}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
}

/** The session token in a Cookie header, if any. */
export function readSessionToken(
  config: Pick<Config, 'baseUrl'>,
  cookieHeader: string | undefined,
): string | undefined {
  return readCookie(cookieHeader, sessionCookieName(config));
}

export interface NewSession {
  id: string;
  token: string;
  expiresAt: Date;
}

/** Creates a session row; the caller persists it (inside its own transaction when it has one). */
export function createSession(
  em: EntityManager,
  input: {
    userId: string;
    ip: string;
    userAgent: string;
    now: Date;
    methods: AuthMethod[];
    ssoOrganizationId?: string | null;
  },
): NewSession {
  const token = randomToken();
  const expiresAt = new Date(input.now.getTime() + SESSION_ABSOLUTE_MS);
  const session = em.create(SessionSchema, {
    id: newId(),
    userId: input.userId,
    tokenHash: sha256Hex(token),
    ip: input.ip.slice(0, 64),
    userAgent: input.userAgent.slice(0, 512),
    createdAt: input.now,
    lastSeenAt: input.now,
    expiresAt,
    revokedAt: null,
    authMethods: input.methods,
    strongAuthAt: input.now,
    ssoOrganizationId: input.ssoOrganizationId ?? null,
  });
  em.persist(session);
  return { id: session.id, token, expiresAt };
}

export interface ValidSession {
  session: {
    id: string;
    userId: string;
    createdAt: Date;
    lastSeenAt: Date;
    expiresAt: Date;
    authMethods: AuthMethod[];
    strongAuthAt: Date;
    /** The organization whose SSO signed this session in, if any. */
    ssoOrganizationId: string | null;
  };
  user: { id: string; email: string; isActive: boolean; verifiedAt: Date | null };
}

interface SessionRow {
  id: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  auth_methods: AuthMethod[];
  strong_auth_at: string;
  sso_organization_id: string | null;
  email: string;
  is_active: boolean;
  verified_at: string | null;
}

interface CachedSession {
  session: {
    id: string;
    userId: string;
    createdAt: number;
    lastSeenAt: number;
    expiresAt: number;
    authMethods: AuthMethod[];
    strongAuthAt: number;
    /** Absent in entries cached before SSO existed (they expire within the cache's TTL). */
    ssoOrganizationId?: string | null;
  };
  user: { id: string; email: string; isActive: boolean; verifiedAt: number | null };
}

async function loadSession(em: EntityManager, tokenHash: string): Promise<CachedSession | undefined> {
  const [row] = await preparedRows<SessionRow>(
    em,
    'session_by_token_hash',
    `select s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.auth_methods, s.strong_auth_at,
            s.sso_organization_id, u.email, u.is_active, u.verified_at
       from sessions s join users u on u.id = s.user_id
      where s.token_hash = $1 and s.revoked_at is null`,
    [tokenHash],
  );
  if (!row) return undefined;
  return {
    session: {
      id: row.id,
      userId: row.user_id,
      createdAt: toDate(row.created_at).getTime(),
      lastSeenAt: toDate(row.last_seen_at).getTime(),
      expiresAt: toDate(row.expires_at).getTime(),
      authMethods: row.auth_methods,
      strongAuthAt: toDate(row.strong_auth_at).getTime(),
      ssoOrganizationId: row.sso_organization_id,
    },
    user: {
      id: row.user_id,
      email: row.email,
      isActive: row.is_active,
      verifiedAt: toDateOrNull(row.verified_at)?.getTime() ?? null,
    },
  };
}

/**
 * The session behind a cookie's token: from the session cache when it is there, else one indexed
 * read (no entity hydration). Null when it is malformed, unknown, revoked, past 30 days or idle for 7.
 */
export async function validateSessionToken(
  em: EntityManager,
  cache: CredentialCache,
  token: string,
  now: Date,
): Promise<ValidSession | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const tokenHash = sha256Hex(token);
  const found = await cache.getOrLoad(tokenHash, () => loadSession(em, tokenHash));
  if (!found) return null;
  const nowMs = now.getTime();
  const { session, user } = found;
  if (nowMs >= session.expiresAt || nowMs - session.lastSeenAt >= SESSION_IDLE_MS) return null;
  if (nowMs - session.lastSeenAt >= SESSION_REFRESH_MS) {
    session.lastSeenAt = nowMs;
    await em.getConnection().execute('update sessions set last_seen_at = ? where id = ?', [now, session.id]);
    await cache.set(tokenHash, found);
  }
  return {
    session: {
      id: session.id,
      userId: session.userId,
      createdAt: new Date(session.createdAt),
      lastSeenAt: new Date(session.lastSeenAt),
      expiresAt: new Date(session.expiresAt),
      authMethods: session.authMethods,
      strongAuthAt: new Date(session.strongAuthAt),
      ssoOrganizationId: session.ssoOrganizationId ?? null,
    },
    user: {
      id: user.id,
      email: user.email,
      isActive: user.isActive,
      verifiedAt: user.verifiedAt === null ? null : new Date(user.verifiedAt),
    },
  };
}

/**
 * Revokes live sessions of a user: one (`id`), all, or all but one (`except`). Returns the token
 * hashes it revoked, for the caller to drop from the session cache once its transaction commits.
 */
export async function revokeSessions(
  em: EntityManager,
  where: { userId: string; id?: string; except?: string },
  now: Date,
): Promise<string[]> {
  const conditions = ['user_id = ?', 'revoked_at is null'];
  const params: unknown[] = [now, where.userId];
  if (where.id) {
    conditions.push('id = ?');
    params.push(where.id);
  }
  if (where.except) {
    conditions.push('id <> ?');
    params.push(where.except);
  }
  const rows = await em
    .getConnection()
    .execute<{ token_hash: string }[]>(
      `update sessions set revoked_at = ? where ${conditions.join(' and ')} returning token_hash`,
      params,
      'all',
      em.getTransactionContext(),
    );
  return rows.map((r) => r.token_hash);
}

/**
 * The cache keys of everything that carries the user: live sessions, API keys (and their previous
 * secrets) and memberships. What to drop from the cache when the user changes.
 */
export async function userCacheKeys(em: EntityManager, userId: string): Promise<string[]> {
  const rows = await em.getConnection().execute<{ key: string }[]>(
    `select token_hash as key from sessions where user_id = ? and revoked_at is null
     union all select key_hash from api_keys where user_id = ?
     union all select previous_key_hash from api_keys where user_id = ? and previous_key_hash is not null
     union all select 'member:' || organization_id || ':' || user_id from members where user_id = ?`,
    [userId, userId, userId, userId],
    'all',
    em.getTransactionContext(),
  );
  return rows.map((r) => r.key);
}
