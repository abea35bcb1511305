import { z } from 'zod';
import { UserSchema } from '../../../entities/user.js';
import { authProcedure } from '../../../server/trpc.js';
import { spendMailBudget } from '../../shared/mail-budget.js';
import { magicLinkMail } from '../emails.js';
import { Email } from '../schemas.js';
import { issueVerification } from '../verifications.js';
import { trustedCallback } from '../callback-url.js';

export const CallbackURL = z.string().max(2048, 'Must be at most 2048 characters').optional();

/**
 * POST /api/auth/magic-link/send: always 200 with the same answer, so it reveals no account.
 *
 * - Budgets: magicLink per IP (the guard), then the mail budgets per IP and per address
 *   (procedures/shared/mail-budget.ts), all spent before answering and before any lookup.
 * - The account is looked up, the token issued and the mail sent after answering (as forgot-password.ts
 *   does), so a known and an unknown address also take the same time.
 * - The link: 15 minutes, single use, only its SHA-256 stored; a newer link to the address retires it.
 *   A deactivated account gets nothing; an address without an account gets a link that creates one,
 *   unless MAGIC_LINK_SIGN_UP=false, when it gets nothing.
 * - A callbackURL off the trusted origins is dropped, not refused: the answer stays the same.
 */
export const sendMagicLink = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/magic-link/send',
      tags: ['auth'],
      summary: 'Email a sign-in link',
      description:
        'Always 200: the answer does not say whether the address has an account. The link works once, for 15 minutes; ' +
        'a callbackURL is kept only on a trusted origin (TRUSTED_ORIGINS or APP_URL).',
    },
    message: 'If this address can sign in by email, a link is on its way',
    rateLimit: ['magicLink'],
  })
  .input(z.strictObject({ email: Email, callbackURL: CallbackURL }))
  .output(z.object({ sent: z.boolean() }))
  .mutation(async ({ ctx, input }) => {
    await spendMailBudget(ctx, 'magic-link', input.email);
    const { orm, config } = ctx.services;
    const now = ctx.services.now();
    const callbackURL = trustedCallback(config, input.callbackURL)?.href;
    ctx.services.mailer.sendInBackground(async () => {
      const em = orm.em.fork();
      const user = await em.findOne(UserSchema, { email: input.email }, { fields: ['id', 'email', 'isActive'] });
      if (user ? !user.isActive : !config.magicLinkSignUp) return null;
      const token = await issueVerification(em, {
        userId: user?.id ?? null,
        purpose: 'magic-link',
        email: input.email,
        now,
      });
      return magicLinkMail(config.baseUrl, input.email, token, { callbackURL, newAccount: !user });
    });
    return { sent: true };
  });
