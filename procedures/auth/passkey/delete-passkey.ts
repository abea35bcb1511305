import { z } from 'zod';
import { PasskeySchema } from '../../../entities/passkey.js';
import { userCacheKeys } from '../../../server/auth/sessions.js';
import { ApiError } from '../../../server/errors.js';
import { ULID_PATTERN } from '../../../server/ids.js';
import { sessionProcedure } from '../../../server/trpc.js';
import { requireStepUp, StepUpPassword } from '../../shared/step-up.js';

/**
 * DELETE /api/auth/passkey/{id}: removes one of my passkeys after step-up (the password in the body,
 * or a sign-in within 10 minutes for an account without one). Another user's passkey is not found.
 * Cached memberships are dropped: the organization MFA policy reads the member's passkeys through them.
 */
export const deletePasskey = sessionProcedure
  .meta({
    openapi: { method: 'DELETE', path: '/auth/passkey/{id}', tags: ['auth'], summary: 'Delete a passkey' },
    message: 'Passkey deleted successfully',
    stepUp: true,
    rateLimit: ['passkey'],
  })
  .input(z.strictObject({ id: z.string().regex(ULID_PATTERN, 'Must be a passkey id'), password: StepUpPassword }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const userId = ctx.principal.userId;
    const mine = await ctx.em.count(PasskeySchema, { id: input.id, userId });
    if (mine === 0) throw new ApiError('NOT_FOUND', 'No passkey of yours has this id');
    await requireStepUp(ctx, ctx.principal, input.password);
    const deleted = await ctx.em.nativeDelete(PasskeySchema, { id: input.id, userId });
    if (deleted === 0) throw new ApiError('NOT_FOUND', 'No passkey of yours has this id');
    await ctx.services.credentialCache.forget(await userCacheKeys(ctx.em, userId));
    return { id: input.id };
  });
