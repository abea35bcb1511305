import { z } from 'zod';
import { UserSchema } from '../../entities/user.js';
import { authProcedure } from '../../server/trpc.js';
import { spendMailBudget } from '../shared/mail-budget.js';
import { resetPasswordMail } from './emails.js';
import { Email } from './schemas.js';
import { issueVerification } from './verifications.js';

/**
 * POST /api/auth/forgot-password: always 200, so it reveals no account. Only the mail budget is spent
 * before answering; the account is looked up, the token issued and the mail sent afterwards, so that a
 * known and an unknown address also take the same time.
 */
export const forgotPassword = authProcedure
  .meta({
    openapi: { method: 'POST', path: '/auth/forgot-password', tags: ['auth'], summary: 'Email a password reset link' },
    message: 'If an account uses this address, a reset link is on its way',
  })
  .input(z.strictObject({ email: Email }))
  .output(z.object({ sent: z.boolean() }))
  .mutation(async ({ ctx, input }) => {
    await spendMailBudget(ctx, 'reset-password', input.email);
    const { orm, config } = ctx.services;
    const now = ctx.services.now();
    ctx.services.mailer.sendInBackground(async () => {
      const em = orm.em.fork();
      const user = await em.findOne(UserSchema, { email: input.email, isActive: true }, { fields: ['id', 'email'] });
      if (!user) return null;
      const token = await issueVerification(em, { userId: user.id, purpose: 'reset-password', email: user.email, now });
      return resetPasswordMail(config.appUrl, user.email, token);
    });
    return { sent: true };
  });
