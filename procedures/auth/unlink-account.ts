import { LockMode } from '@mikro-orm/core';
import { z } from 'zod';
import { PasskeySchema } from '../../entities/passkey.js';
import { AccountSchema, UserSchema } from '../../entities/user.js';
import { ApiError } from '../../server/errors.js';
import { ULID_PATTERN } from '../../server/ids.js';
import { sessionProcedure } from '../../server/trpc.js';
import { requireStepUp, StepUpPassword } from '../shared/step-up.js';
import { PASSWORD_PROVIDER } from './accounts/account.js';

/**
 * DELETE /api/auth/accounts/{accountId}: unlinks one of my linked accounts (social or SSO).
 *
 * - Only while another way to sign in remains: a password, a passkey, or another linked account;
 *   otherwise 409 CONFLICT (the user would be locked out). Emailed links are not counted: they may be
 *   off, or mail may not reach the user.
 * - The password is not a linked account (409 CONFLICT: change or reset it instead); another user's
 *   account id is 404.
 * - Step-up as for deleting a passkey: the password, or a sign-in within 10 minutes without one.
 * - The check and the delete run under a lock on the user row, so two unlinks at once cannot both
 *   take away the last way in.
 */
export const unlinkAccount = sessionProcedure
  .meta({
    openapi: { method: 'DELETE', path: '/auth/accounts/{accountId}', tags: ['social'], summary: 'Unlink an account' },
    message: 'Account unlinked',
    stepUp: true,
    errors: ['NOT_FOUND', 'CONFLICT'],
  })
  .input(
    z.strictObject({
      accountId: z.string().regex(ULID_PATTERN, 'Must be an account id'),
      password: StepUpPassword,
    }),
  )
  .output(z.object({ id: z.string(), providerId: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const userId = ctx.principal.userId;
    const notFound = () => new ApiError('NOT_FOUND', 'No linked account of yours has this id');
    const account = await ctx.em.findOne(AccountSchema, { id: input.accountId, userId });
    if (!account) throw notFound();
    if (account.providerId === PASSWORD_PROVIDER) {
      throw new ApiError('CONFLICT', 'The password is not a linked account: change or reset it instead');
    }
    await requireStepUp(ctx, ctx.principal, input.password);
    await ctx.em.transactional(async (em) => {
      await em.findOneOrFail(UserSchema, { id: userId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const [others, passkeys] = await Promise.all([
        em.count(AccountSchema, {
          userId,
          id: { $ne: account.id },
          $or: [{ providerId: { $ne: PASSWORD_PROVIDER } }, { passwordHash: { $ne: null } }],
        }),
        em.count(PasskeySchema, { userId }),
      ]);
      if (others + passkeys === 0) {
        throw new ApiError(
          'CONFLICT',
          'This is your only way to sign in: set a password, add a passkey or link another account first',
        );
      }
      if ((await em.nativeDelete(AccountSchema, { id: account.id, userId })) === 0) throw notFound();
    });
    return { id: account.id, providerId: account.providerId };
  });
