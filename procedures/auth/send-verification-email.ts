import { z } from 'zod';
import { UserSchema } from '../../entities/user.js';
import { authProcedure } from '../../server/trpc.js';
import { spendMailBudget } from '../shared/mail-budget.js';
import { verifyEmailMail } from './emails.js';
import { Email } from './schemas.js';
import { issueVerification } from './verifications.js';

/**
 * POST /api/auth/send-verification-email: always the same answer, in content and in time (the account
 * is looked up after answering, as in forgot-password.ts), so it reveals no account.
 */
export const sendVerificationEmail = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/send-verification-email',
      tags: ['auth'],
      summary: 'Send the verification email again',
    },
    message: 'If the address needs verifying, an email is on its way',
  })
  .input(z.strictObject({ email: Email }))
  .output(z.object({ sent: z.boolean() }))
  .mutation(async ({ ctx, input }) => {
    await spendMailBudget(ctx, 'verify-email', input.email);
    const { orm, config } = ctx.services;
    const now = ctx.services.now();
    ctx.services.mailer.sendInBackground(async () => {
      const em = orm.em.fork();
      const user = await em.findOne(UserSchema, { email: input.email }, { fields: ['id', 'email', 'verifiedAt'] });
      if (!user || user.verifiedAt) return null;
      const token = await issueVerification(em, { userId: user.id, purpose: 'verify-email', email: user.email, now });
      return verifyEmailMail(config.appUrl, user.email, token);
    });
    return { sent: true };
  });
