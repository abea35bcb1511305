import { z } from 'zod';
import { AUTH_METHODS, SessionSchema } from '../../entities/session.js';
import { SESSION_IDLE_MS } from '../../server/auth/sessions.js';
import { PageInput, pageOf, toPage } from '../../server/pagination.js';
import { sessionProcedure } from '../../server/trpc.js';
import { iso, IsoDate } from './schemas.js';

const ActiveSession = z.object({
  id: z.string(),
  ip: z.string(),
  userAgent: z.string(),
  createdAt: IsoDate,
  lastSeenAt: IsoDate,
  expiresAt: IsoDate,
  current: z.boolean(),
  /** The factors the sign-in proved, e.g. ["pwd", "otp"]. */
  authMethods: z.array(z.enum(AUTH_METHODS)),
  /** When the user last proved themselves in this session (step-up reads it). */
  strongAuthAt: IsoDate,
});

/** GET /api/auth/sessions: the signed-in user's live sessions, newest first. */
export const listSessions = sessionProcedure
  .meta({
    openapi: { method: 'GET', path: '/auth/sessions', tags: ['auth'], summary: 'My active sessions' },
    message: 'Items fetched successfully',
  })
  .input(PageInput)
  .output(pageOf(ActiveSession))
  .query(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const where = {
      userId: ctx.principal.userId,
      revokedAt: null,
      expiresAt: { $gt: now },
      lastSeenAt: { $gt: new Date(now.getTime() - SESSION_IDLE_MS) },
    };
    const [sessions, total] = await ctx.em.findAndCount(SessionSchema, where, {
      orderBy: { createdAt: 'desc', id: 'desc' },
      offset: input.offset,
      limit: input.limit,
    });
    const items = sessions.map((s) => ({
      id: s.id,
      ip: s.ip,
      userAgent: s.userAgent,
      createdAt: iso(s.createdAt),
      lastSeenAt: iso(s.lastSeenAt),
      expiresAt: iso(s.expiresAt),
      current: s.id === ctx.principal.sessionId,
      authMethods: s.authMethods,
      strongAuthAt: iso(s.strongAuthAt),
    }));
    return toPage(items, total, input);
  });
