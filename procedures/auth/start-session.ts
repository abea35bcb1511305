/** What every successful sign-in does: a new session, the cookie, lastLoginAt and a history row. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { LoginEventSchema, type LoginEvent } from '../../entities/login-history.js';
import type { AuthMethod } from '../../entities/session.js';
import { UserSchema } from '../../entities/user.js';
import type { Context } from '../../server/context.js';
import { newId } from '../../server/ids.js';
import { createSession, sessionCookie, type NewSession } from '../../server/auth/sessions.js';

/** One row of the user's sign-in history: the factor tried and what came of it. */
export function recordLogin(
  em: EntityManager,
  ctx: Pick<Context, 'ip' | 'userAgent'>,
  event: { userId: string; method: AuthMethod; outcome: LoginEvent['outcome']; reason?: string; now: Date },
): void {
  em.persist(
    em.create(LoginEventSchema, {
      id: newId(),
      userId: event.userId,
      ip: ctx.ip.slice(0, 64),
      userAgent: ctx.userAgent.slice(0, 512),
      method: event.method,
      outcome: event.outcome,
      reason: event.reason ?? null,
      createdAt: event.now,
    }),
  );
}

/**
 * Inside the caller's transaction: creates the session with the factors the sign-in proved (the last
 * one is the attempt recorded in the history) and sets the cookie.
 */
export async function startSession(
  em: EntityManager,
  ctx: Context,
  userId: string,
  now: Date,
  methods: AuthMethod[],
): Promise<NewSession> {
  const session = createSession(em, { userId, ip: ctx.ip, userAgent: ctx.userAgent, now, methods });
  recordLogin(em, ctx, { userId, method: methods.at(-1) ?? 'pwd', outcome: 'success', now });
  await em.nativeUpdate(UserSchema, { id: userId }, { lastLoginAt: now });
  await em.flush();
  ctx.setCookie(sessionCookie(ctx.services.config, session.token, session.expiresAt, now));
  return session;
}
