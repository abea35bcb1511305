/**
 * DELETE /api/user/me.
 *
 * - Session only, and a security action (step-up): the password, or for an account without one a
 *   sign-in within the last 10 minutes.
 * - An organization with other members whose only owner is this user blocks the deletion (CONFLICT):
 *   ownership must move first. Organizations where the user is the only member go with the account.
 * - Everything personal goes in one transaction: the user row and, by cascade, sessions, API keys,
 *   password, emailed tokens, sign-in history and memberships; and what carries the user without a
 *   foreign key: OAuth grants with their tokens, and pending invitations the user sent
 *   (procedures/shared/end-credentials.ts).
 */
import { z } from 'zod';
import { OrganizationSchema } from '../../../entities/organization.js';
import { UserSchema } from '../../../entities/user.js';
import { clearedSessionCookie, userCacheKeys } from '../../../server/auth/sessions.js';
import { ApiError } from '../../../server/errors.js';
import { userProcedure } from '../../../server/trpc.js';
import { requireStepUp, StepUpInput } from '../../shared/step-up.js';
import { endCredentials } from '../../shared/end-credentials.js';

interface OwnedOrganization {
  id: string;
  slug: string;
  other_members: number;
  other_owners: number;
}

export const deleteMe = userProcedure
  .meta({
    openapi: { method: 'DELETE', path: '/user/me', tags: ['user'], summary: 'Delete my account' },
    message: 'User deleted successfully',
    sessionOnly: true,
    stepUp: true,
  })
  .input(StepUpInput)
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const userId = ctx.principal.userId;
    const now = ctx.services.now();
    await requireStepUp(ctx, ctx.principal, input.password);
    const removed = await ctx.em.transactional(async (em) => {
      const owned = await em.getConnection().execute<OwnedOrganization[]>(
        `select o.id, o.slug,
                (select count(*) from members x where x.organization_id = o.id and x.user_id <> ?)::int as other_members,
                (select count(*) from members x where x.organization_id = o.id and x.user_id <> ? and x.role = 'owner')::int as other_owners
           from organizations o join members m on m.organization_id = o.id and m.user_id = ? and m.role = 'owner'
          for update of o`,
        [userId, userId, userId],
        'all',
        em.getTransactionContext(),
      );
      const blocking = owned.filter((o) => o.other_members > 0 && o.other_owners === 0);
      if (blocking.length > 0) {
        throw new ApiError(
          'CONFLICT',
          `You are the only owner of ${blocking.map((o) => o.slug).join(', ')}; transfer ownership or delete the organization first`,
          { organizations: blocking.map((o) => o.id) },
        );
      }
      const solo = owned.filter((o) => o.other_members === 0).map((o) => o.id);
      if (solo.length > 0) await em.nativeDelete(OrganizationSchema, { id: { $in: solo } });
      const cached = await userCacheKeys(em, userId);
      const actor = { principal: ctx.principal, ip: ctx.ip, userAgent: ctx.userAgent };
      await endCredentials(em, userId, { oauthGrants: true, invites: { actor, reason: 'sender-deleted' } }, now);
      // The audit entries name the user: written before the row they point to goes (and then set null).
      await em.flush();
      await em.nativeDelete(UserSchema, { id: userId });
      return cached;
    });
    await ctx.services.credentialCache.forget(removed);
    ctx.setCookie(clearedSessionCookie(ctx.services.config));
    return { id: userId };
  });
