import { z } from 'zod';
import { userProcedure } from '../../../server/trpc.js';
import { loadProfile, Profile } from './profile.js';

/** GET /api/user/me */
export const getMe = userProcedure
  .meta({
    openapi: { method: 'GET', path: '/user/me', tags: ['user'], summary: 'My account' },
    message: 'User fetched successfully',
    scopes: ['user:read'],
  })
  .input(z.void())
  .output(Profile)
  .query(({ ctx }) => loadProfile(ctx.em, ctx.principal.userId, ctx.principal.organizationId));
