import { z } from 'zod';
import { UserSchema } from '../../entities/user.js';
import { authProcedure } from '../../server/trpc.js';
import { spendEmailBudget } from './budgets.js';
import { resetPasswordMail } from './emails.js';
import { Email } from './schemas.js';
import { issueVerification } from './verifications.js';

/** POST /api/auth/forgot-password: always 200, so it reveals no account; the mail is sent in the background. */
export const forgotPassword = authProcedure
  .meta({ openapi: { method: 'POST', path: '/auth/forgot-password', tags: ['auth'], summary: 'Email a password reset link' }, message: 'If an account uses this address, a reset link is on its way' })
  .input(z.strictObject({ email: Email }))
  .output(z.object({ sent: z.boolean() }))
  .mutation(async ({ ctx, input }) => {
    await spendEmailBudget(ctx, input.email);
    const user = await ctx.em.findOne(UserSchema, { email: input.email, isActive: true }, { fields: ['id', 'email'] });
    if (user) {
      const token = await issueVerification(ctx.em, { userId: user.id, purpose: 'reset-password', email: user.email, now: ctx.services.now() });
      ctx.services.mailer.sendInBackground(resetPasswordMail(ctx.services.config.appUrl, user.email, token));
    }
    return { sent: true };
  });
