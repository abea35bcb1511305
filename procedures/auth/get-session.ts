import { z } from 'zod';
import { SessionSchema } from '../../entities/session.js';
import { UserSchema } from '../../entities/user.js';
import { authProcedure } from '../../server/trpc.js';
import { iso, IsoDate, UserSummary, userSummary } from './schemas.js';

/** GET /api/auth/session: the current session and user, or null when signed out (or the cookie is stale). */
export const getSession = authProcedure
  .meta({
    openapi: { method: 'GET', path: '/auth/session', tags: ['auth'], summary: 'The current session' },
    message: 'Session fetched successfully',
  })
  .input(z.void())
  .output(
    z
      .object({
        session: z.object({ id: z.string(), createdAt: IsoDate, lastSeenAt: IsoDate, expiresAt: IsoDate }),
        user: UserSummary,
      })
      .nullable(),
  )
  .query(async ({ ctx }) => {
    const principal = ctx.principal;
    if (principal?.kind !== 'session' || !principal.sessionId) return null;
    const [session, user] = await Promise.all([
      ctx.em.findOneOrFail(SessionSchema, { id: principal.sessionId }),
      ctx.em.findOneOrFail(UserSchema, { id: principal.userId }),
    ]);
    return {
      session: {
        id: session.id,
        createdAt: iso(session.createdAt),
        lastSeenAt: iso(session.lastSeenAt),
        expiresAt: iso(session.expiresAt),
      },
      user: userSummary(user),
    };
  });
