/** What every successful sign-in does: a new session, the cookie, lastLoginAt and a history row. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { LoginEventSchema, type LoginEvent } from '../../entities/login-history.js';
import { UserSchema } from '../../entities/user.js';
import type { Context } from '../../server/context.js';
import { newId } from '../../server/ids.js';
import { createSession, sessionCookie, type NewSession } from '../../server/auth/sessions.js';

export function recordLogin(
  em: EntityManager,
  ctx: Pick<Context, 'ip' | 'userAgent'>,
  event: { userId: string; outcome: LoginEvent['outcome']; reason?: string; now: Date },
): void {
  em.persist(
    em.create(LoginEventSchema, {
      id: newId(),
      userId: event.userId,
      ip: ctx.ip.slice(0, 64),
      userAgent: ctx.userAgent.slice(0, 512),
      method: 'password',
      outcome: event.outcome,
      reason: event.reason ?? null,
      createdAt: event.now,
    }),
  );
}

/** Inside the caller's transaction: creates the session and records the sign-in; sets the cookie. */
export async function startSession(em: EntityManager, ctx: Context, userId: string, now: Date): Promise<NewSession> {
  const session = createSession(em, { userId, ip: ctx.ip, userAgent: ctx.userAgent, now });
  recordLogin(em, ctx, { userId, outcome: 'success', now });
  await em.nativeUpdate(UserSchema, { id: userId }, { lastLoginAt: now });
  await em.flush();
  ctx.setCookie(sessionCookie(ctx.services.config, session.token, session.expiresAt, now));
  return session;
}
