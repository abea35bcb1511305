import { z } from 'zod';
import { LoginEventSchema } from '../../../entities/login-history.js';
import { MemberSchema, OrganizationSchema } from '../../../entities/organization.js';
import { SessionSchema } from '../../../entities/session.js';
import { AccountSchema } from '../../../entities/user.js';
import { PASSWORD_PROVIDER } from '../../auth/accounts/account.js';
import { userProcedure } from '../../../server/trpc.js';
import { iso, IsoDate, isoOrNull } from '../../auth/schemas.js';
import { LoginEventOutput, toLoginEventOutput } from './login-history.js';
import { loadProfile, Profile } from './profile.js';

/**
 * GET /api/user/me/export: everything kept about me, as JSON (never hashes or tokens). A key pinned to
 * one organization exports only that membership. Linked accounts show their provider and the address it
 * vouched for, not the provider's subject.
 */
export const exportMe = userProcedure
  .meta({
    openapi: { method: 'GET', path: '/user/me/export', tags: ['user'], summary: 'Export my data' },
    message: 'Export generated successfully',
    scopes: ['user:read'],
  })
  .input(z.void())
  .output(
    z.object({
      exportedAt: IsoDate,
      user: Profile,
      sessions: z.array(
        z.object({
          id: z.string(),
          ip: z.string(),
          userAgent: z.string(),
          createdAt: IsoDate,
          lastSeenAt: IsoDate,
          expiresAt: IsoDate,
          revokedAt: IsoDate.nullable(),
        }),
      ),
      memberships: z.array(
        z.object({
          organizationId: z.string(),
          name: z.string(),
          slug: z.string(),
          role: z.string(),
          joinedAt: IsoDate,
        }),
      ),
      loginHistory: z.array(LoginEventOutput),
      linkedAccounts: z.array(z.object({ provider: z.string(), email: z.string().nullable(), createdAt: IsoDate })),
    }),
  )
  .query(async ({ ctx }) => {
    const userId = ctx.principal.userId;
    const [user, sessions, members, events, linked] = await Promise.all([
      loadProfile(ctx.em.fork(), userId, ctx.principal.organizationId),
      ctx.em.fork().find(SessionSchema, { userId }, { orderBy: { createdAt: 'desc' } }),
      ctx.em
        .fork()
        .find(
          MemberSchema,
          { userId, ...(ctx.principal.organizationId ? { organizationId: ctx.principal.organizationId } : {}) },
          { orderBy: { createdAt: 'desc' } },
        ),
      ctx.em.fork().find(LoginEventSchema, { userId }, { orderBy: { createdAt: 'desc', id: 'desc' } }),
      ctx.em
        .fork()
        .find(
          AccountSchema,
          { userId, providerId: { $ne: PASSWORD_PROVIDER } },
          { fields: ['providerId', 'email', 'createdAt'], orderBy: { createdAt: 'asc', id: 'asc' } },
        ),
    ]);
    const organizations = await ctx.em.find(OrganizationSchema, { id: { $in: members.map((m) => m.organizationId) } });
    const byId = new Map(organizations.map((o) => [o.id, o]));
    return {
      exportedAt: iso(ctx.services.now()),
      user,
      sessions: sessions.map((s) => ({
        id: s.id,
        ip: s.ip,
        userAgent: s.userAgent,
        createdAt: iso(s.createdAt),
        lastSeenAt: iso(s.lastSeenAt),
        expiresAt: iso(s.expiresAt),
        revokedAt: isoOrNull(s.revokedAt),
      })),
      memberships: members.map((m) => ({
        organizationId: m.organizationId,
        name: byId.get(m.organizationId)?.name ?? '',
        slug: byId.get(m.organizationId)?.slug ?? '',
        role: m.role,
        joinedAt: iso(m.createdAt),
      })),
      loginHistory: events.map(toLoginEventOutput),
      linkedAccounts: linked.map((a) => ({ provider: a.providerId, email: a.email, createdAt: iso(a.createdAt) })),
    };
  });
