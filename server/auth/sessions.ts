/**
 * Session cookies (API.md section 6).
 *
 * - The cookie holds 32 random bytes; the database holds only their SHA-256.
 * - A session ends 30 days after sign-in, or after 7 days unused; use slides `lastSeenAt` forward at
 *   most once a day, so the hot path is one indexed read and almost never a write.
 * - `__Host-session` over https, `session` on plain http; HttpOnly, Secure, SameSite=Lax, Path=/.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { SessionSchema } from '../../entities/session.js';
import type { Config } from '../config.js';
import { randomToken, sha256Hex, TOKEN_PATTERN } from '../crypto.js';
import { toDate, toDateOrNull } from '../database.js';
import { newId } from '../ids.js';

const DAY_MS = 24 * 60 * 60 * 1000;
export const SESSION_ABSOLUTE_MS = 30 * DAY_MS;
export const SESSION_IDLE_MS = 7 * DAY_MS;
export const SESSION_REFRESH_MS = DAY_MS;

export function sessionCookieName(config: Pick<Config, 'baseUrl'>): string {
  return config.baseUrl.startsWith('https:') ? '__Host-session' : 'session';
}

export function sessionCookie(config: Pick<Config, 'baseUrl'>, token: string, expiresAt: Date, now: Date): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
  return `${sessionCookieName(config)}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Lax`;
}

export function clearedSessionCookie(config: Pick<Config, 'baseUrl'>): string {
  return `${sessionCookieName(config)}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
}

/** The session token in a Cookie header, if any. */
export function readSessionToken(config: Pick<Config, 'baseUrl'>, cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  const name = sessionCookieName(config);
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

export interface NewSession {
  id: string;
  token: string;
  expiresAt: Date;
}

/** Creates a session row; the caller persists it (inside its own transaction when it has one). */
export function createSession(em: EntityManager, input: { userId: string; ip: string; userAgent: string; now: Date }): NewSession {
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
  });
  em.persist(session);
  return { id: session.id, token, expiresAt };
}

export interface ValidSession {
  session: { id: string; userId: string; createdAt: Date; lastSeenAt: Date; expiresAt: Date };
  user: { id: string; email: string; isActive: boolean; verifiedAt: Date | null };
}

interface SessionRow {
  id: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  email: string;
  is_active: boolean;
  verified_at: string | null;
}

/**
 * One indexed read (no entity hydration) for a cookie's token; null when it is malformed, unknown,
 * revoked, past 30 days or idle for 7.
 */
export async function validateSessionToken(em: EntityManager, token: string, now: Date): Promise<ValidSession | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const row = (await em.getConnection().execute<SessionRow[]>(
    `select s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, u.email, u.is_active, u.verified_at
       from sessions s join users u on u.id = s.user_id
      where s.token_hash = ? and s.revoked_at is null`,
    [sha256Hex(token)],
  ))[0];
  if (!row) return null;
  const nowMs = now.getTime();
  const expiresAt = toDate(row.expires_at);
  let lastSeenAt = toDate(row.last_seen_at);
  if (nowMs >= expiresAt.getTime() || nowMs - lastSeenAt.getTime() >= SESSION_IDLE_MS) return null;
  if (nowMs - lastSeenAt.getTime() >= SESSION_REFRESH_MS) {
    lastSeenAt = now;
    await em.getConnection().execute('update sessions set last_seen_at = ? where id = ?', [now, row.id]);
  }
  return {
    session: { id: row.id, userId: row.user_id, createdAt: toDate(row.created_at), lastSeenAt, expiresAt },
    user: { id: row.user_id, email: row.email, isActive: row.is_active, verifiedAt: toDateOrNull(row.verified_at) },
  };
}

/** Revokes a user's sessions, all of them or all but one; returns how many. */
export async function revokeSessions(em: EntityManager, userId: string, now: Date, except?: string): Promise<number> {
  const where = except
    ? { userId, revokedAt: null, id: { $ne: except } }
    : { userId, revokedAt: null };
  return em.nativeUpdate(SessionSchema, where, { revokedAt: now });
}
