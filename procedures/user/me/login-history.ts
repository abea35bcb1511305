import { z } from 'zod';
import { LoginEventSchema, type LoginEvent } from '../../../entities/login-history.js';
import { AUTH_METHODS } from '../../../entities/session.js';
import { PageInput, pageOf, toPage } from '../../../server/pagination.js';
import { userProcedure } from '../../../server/trpc.js';
import { iso, IsoDate } from '../../auth/schemas.js';

export const LoginEventOutput = z.object({
  id: z.string(),
  createdAt: IsoDate,
  ip: z.string(),
  userAgent: z.string(),
  method: z.enum(AUTH_METHODS),
  outcome: z.enum(['success', 'failure', 'blocked', 'challenged']),
  reason: z.string().nullable(),
  /** The social provider's id or `sso:<connection id>` of a federated attempt; null otherwise. */
  provider: z.string().nullable(),
});

export function toLoginEventOutput(e: LoginEvent): z.output<typeof LoginEventOutput> {
  return {
    id: e.id,
    createdAt: iso(e.createdAt),
    ip: e.ip,
    userAgent: e.userAgent,
    method: e.method,
    outcome: e.outcome,
    reason: e.reason,
    provider: e.provider,
  };
}

/** GET /api/user/me/login-history: my sign-in attempts, newest first. */
export const loginHistory = userProcedure
  .meta({
    openapi: { method: 'GET', path: '/user/me/login-history', tags: ['user'], summary: 'My sign-in history' },
    message: 'Items fetched successfully',
    scopes: ['user:read'],
  })
  .input(PageInput)
  .output(pageOf(LoginEventOutput))
  .query(async ({ ctx, input }) => {
    const [events, total] = await ctx.em.findAndCount(
      LoginEventSchema,
      { userId: ctx.principal.userId },
      { orderBy: { createdAt: 'desc', id: 'desc' }, offset: input.offset, limit: input.limit },
    );
    return toPage(events.map(toLoginEventOutput), total, input);
  });
