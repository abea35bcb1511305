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
  event: {
    userId: string | null;
    method: AuthMethod;
    outcome: LoginEvent['outcome'];
    reason?: string;
    /** Federated sign-ins: the provider and the address it asserted. */
    provider?: string;
    email?: string | null;
    now: Date;
  },
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
      provider: event.provider ?? null,
      email: event.email?.slice(0, 320) ?? null,
      createdAt: event.now,
    }),
  );
}

/**
 * Inside the caller's transaction: creates the session with the factors the sign-in proved (the last
 * one is the attempt recorded in the history) and sets the cookie. A federated sign-in names its
 * provider, and an SSO one the organization whose connection signed the user in.
 */
export async function startSession(
  em: EntityManager,
  ctx: Context,
  userId: string,
  now: Date,
  methods: AuthMethod[],
  federated?: { provider: string; ssoOrganizationId?: string },
): Promise<NewSession> {
  const session = createSession(em, {
    userId,
    ip: ctx.ip,
    userAgent: ctx.userAgent,
    now,
    methods,
    ssoOrganizationId: federated?.ssoOrganizationId ?? null,
  });
  const method = methods.at(-1) ?? 'pwd';
  recordLogin(em, ctx, { userId, method, outcome: 'success', provider: federated?.provider, now });
  await em.nativeUpdate(UserSchema, { id: userId }, { lastLoginAt: now });
  await em.flush();
  ctx.setCookie(sessionCookie(ctx.services.config, session.token, session.expiresAt, now));
  return session;
}
