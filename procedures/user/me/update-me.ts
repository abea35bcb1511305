import { z } from 'zod';
import { UserSchema } from '../../../entities/user.js';
import { userProcedure } from '../../../server/trpc.js';
import { loadProfile, Profile } from './profile.js';

/** PUT /api/user/me: the name and email preferences (the address changes through /auth/change-email). */
export const updateMe = userProcedure
  .meta({
    openapi: { method: 'PUT', path: '/user/me', tags: ['user'], summary: 'Update my account' },
    message: 'User updated successfully',
    scopes: ['user:write'],
  })
  .input(
    z.strictObject({
      fullName: z.string().trim().min(1, 'Must not be empty').max(200, 'Must be at most 200 characters').optional(),
      emailPreferences: z.strictObject({ marketingOptOut: z.boolean() }).optional(),
    }),
  )
  .output(Profile)
  .mutation(async ({ ctx, input }) => {
    return ctx.em.transactional(async (em) => {
      const user = await em.findOneOrFail(UserSchema, { id: ctx.principal.userId });
      if (input.fullName !== undefined) user.fullName = input.fullName;
      if (input.emailPreferences) user.emailPreferences = { ...user.emailPreferences, ...input.emailPreferences };
      user.updatedAt = ctx.services.now();
      await em.flush();
      return loadProfile(em, user.id, ctx.principal.organizationId);
    });
  });
