import { z } from 'zod';
import { UserSchema } from '../../entities/user.js';
import { ApiError } from '../../server/errors.js';
import { sessionProcedure } from '../../server/trpc.js';
import { changeEmailMail } from './emails.js';
import { spendMailBudget } from '../shared/mail-budget.js';
import { refuseSsoManagedEmailChange } from '../shared/sso-managed.js';
import { requireStepUp, StepUpPassword } from '../shared/step-up.js';
import { Email } from './schemas.js';
import { issueVerification } from './verifications.js';

/**
 * POST /api/auth/change-email: a security action (step-up: the current password, or a sign-in within
 * the last 10 minutes for an account without one); sends a confirmation to the new address, which
 * changes only when that link is used (POST /api/auth/verify-email). An address an organization's
 * required SSO manages cannot be changed (procedures/shared/sso-managed.ts), here or when the link is used.
 */
export const changeEmail = sessionProcedure
  .meta({
    openapi: { method: 'POST', path: '/auth/change-email', tags: ['auth'], summary: 'Change my email address' },
    message: 'Confirmation sent to the new address',
    stepUp: true,
    errors: ['FORBIDDEN'],
  })
  .input(z.strictObject({ newEmail: Email, password: StepUpPassword }))
  .output(z.object({ email: z.string(), pendingEmail: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const { userId, email } = ctx.principal;
    if (input.newEmail === email) {
      throw new ApiError('VALIDATION_ERROR', 'This is already your email address', {
        errors: [{ field: 'newEmail', error: 'Is already your email address', location: 'body' }],
      });
    }
    await requireStepUp(ctx, ctx.principal, input.password);
    await refuseSsoManagedEmailChange(ctx.em, userId, email);
    if (await ctx.em.count(UserSchema, { email: input.newEmail }))
      throw new ApiError('CONFLICT', 'Another account already uses this email address');
    await spendMailBudget(ctx, 'change-email', input.newEmail);
    const token = await issueVerification(ctx.em, {
      userId,
      purpose: 'change-email',
      email: input.newEmail,
      now: ctx.services.now(),
    });
    ctx.services.mailer.sendInBackground(changeEmailMail(ctx.services.config.appUrl, input.newEmail, token));
    return { email, pendingEmail: input.newEmail };
  });
