import { z } from 'zod';
import { UserSchema } from '../../entities/user.js';
import { authProcedure } from '../../server/trpc.js';
import { spendEmailBudget } from './budgets.js';
import { verifyEmailMail } from './emails.js';
import { Email } from './schemas.js';
import { issueVerification } from './verifications.js';

/** POST /api/auth/send-verification-email: always the same answer, so it reveals no account. */
export const sendVerificationEmail = authProcedure
  .meta({ openapi: { method: 'POST', path: '/auth/send-verification-email', tags: ['auth'], summary: 'Send the verification email again' }, message: 'If the address needs verifying, an email is on its way' })
  .input(z.strictObject({ email: Email }))
  .output(z.object({ sent: z.boolean() }))
  .mutation(async ({ ctx, input }) => {
    await spendEmailBudget(ctx, input.email);
    const user = await ctx.em.findOne(UserSchema, { email: input.email }, { fields: ['id', 'email', 'verifiedAt'] });
    if (user && !user.verifiedAt) {
      const token = await issueVerification(ctx.em, { userId: user.id, purpose: 'verify-email', email: user.email, now: ctx.services.now() });
      ctx.services.mailer.sendInBackground(verifyEmailMail(ctx.services.config.appUrl, user.email, token));
    }
    return { sent: true };
  });
