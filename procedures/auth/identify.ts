import { z } from 'zod';
import { SsoDomainSchema } from '../../entities/sso.js';
import type { Context } from '../../server/context.js';
import { ssoUrls } from '../../server/sso-urls.js';
import { emailDomain } from '../shared/email-domain.js';
import { authProcedure } from '../../server/trpc.js';
import { Email } from './schemas.js';

/** How an address signs in when an organization's SSO domain rule claims it. */
export interface SsoDomainRule {
  providerId: string;
  redirectUrl: string;
}

/**
 * The one place where SSO domain rules are read: the connection serving the domain of `email`, when an
 * organization verified the domain for it. Domains are public knowledge (a DNS record), so answering
 * by domain reveals no account.
 */
export async function ssoDomainRule(
  ctx: Pick<Context, 'em' | 'services'>,
  email: string,
): Promise<SsoDomainRule | null> {
  const found = await ctx.em.findOne(
    SsoDomainSchema,
    { domain: emailDomain(email), verifiedAt: { $ne: null }, connectionId: { $ne: null } },
    { fields: ['connectionId'] },
  );
  if (!found?.connectionId) return null;
  return {
    providerId: found.connectionId,
    redirectUrl: ssoUrls(ctx.services.config.baseUrl, found.connectionId).signIn,
  };
}

const Identified = z.object({
  /** The first step to show: a password form (with the passkey and email-link buttons), or SSO. */
  method: z.enum(['password', 'sso']),
  ssoProvider: z.string().nullable(),
  ssoRedirectUrl: z.string().nullable(),
  /** Passkey sign-in is offered: usernameless, so it needs no account to be looked up. */
  hasPasskey: z.boolean(),
  /** A sign-in link can be asked for (POST /auth/magic-link/send). */
  allowMagicLink: z.boolean(),
});

/**
 * POST /api/auth/identify: how to sign in with an address, for a sign-in page's first step.
 *
 * - The answer depends on the address's domain only (a verified SSO domain), never on
 *   whether an account exists: no account is read, so a known and an unknown address get the same
 *   fields, values and time. What an account has (a password, passkeys, two-factor) is shown by the
 *   next step, to whoever proves the first factor.
 * - Magic links serve every account whatever MAGIC_LINK_SIGN_UP says (which decides only whether a link
 *   to an unknown address creates an account), so allowMagicLink is the same for everyone.
 */
export const identify = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/identify',
      tags: ['auth'],
      summary: 'How an address signs in',
      description:
        'The same answer for an address with and without an account (an SSO domain rule aside, which is public): ' +
        'use it to choose the next screen, not to learn whether someone has an account.',
    },
    message: 'Sign-in methods for this address',
  })
  .input(z.strictObject({ email: Email }))
  .output(Identified)
  .mutation(async ({ ctx, input }) => {
    const sso = await ssoDomainRule(ctx, input.email);
    return {
      method: sso ? 'sso' : 'password',
      ssoProvider: sso?.providerId ?? null,
      ssoRedirectUrl: sso?.redirectUrl ?? null,
      hasPasskey: true,
      allowMagicLink: true,
    };
  });
