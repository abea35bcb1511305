import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { UserSchema } from '../../../entities/user.js';
import { userCacheKeys } from '../../../server/auth/sessions.js';
import type { Context } from '../../../server/context.js';
import { ApiError } from '../../../server/errors.js';
import { authProcedure } from '../../../server/trpc.js';
import { createAccount } from '../new-account.js';
import { finishFirstFactor } from '../two-factor/challenge.js';
import { consumeVerification, invalidToken } from '../verifications.js';
import { redirectLocation } from '../callback-url.js';
import { CallbackURL } from './send.js';

/** Link errors a browser is sent on with (`?error=CODE`), rather than shown an envelope. */
const LINK_ERRORS = new Set(['INVALID_OR_EXPIRED_TOKEN', 'USER_NOT_ACTIVE', 'CONFLICT']);

/**
 * GET /api/auth/magic-link/verify: the link in the mail, opened by a browser.
 *
 * - The token is consumed atomically (single use, 15 minutes) in the same transaction that marks the
 *   address verified, creates the account of a new address (user and default organization, no password;
 *   not when MAGIC_LINK_SIGN_UP=false) and starts the session: all of it commits, or none.
 * - A user with two-factor on gets the sign-in challenge cookie, not a session, and `twoFactorRequired=true`
 *   in the Location: the second step finishes the sign-in (procedures/auth/two-factor/challenge.ts).
 * - The answer is 303 to the callbackURL when it is on a trusted origin, else to APP_URL
 *   (callback-url.ts). A dead link (unknown, used, expired), a deactivated account or a clash goes to the
 *   same place with `error=<code>`: whoever clicked a link sees the application, not a JSON envelope.
 *   A spent budget (429) or a malformed query (400) is still the envelope.
 */
export const verifyMagicLink = authProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/auth/magic-link/verify',
      tags: ['auth'],
      summary: 'Sign in with an emailed link',
      description:
        '303 to callbackURL (when on a trusted origin) or APP_URL, with the session cookie set; with ' +
        '`twoFactorRequired=true` in its query and the two-factor challenge cookie instead when the user has ' +
        'two-factor on; with `error=INVALID_OR_EXPIRED_TOKEN` (or USER_NOT_ACTIVE) when the link is dead.',
    },
    message: 'Signed in',
    rateLimit: ['magicLink'],
    redirect: true,
  })
  .input(z.strictObject({ token: z.string().max(1024).optional(), callbackURL: CallbackURL }))
  .output(z.object({ location: z.string() }))
  .query(async ({ ctx, input }) => {
    const to = (params?: Record<string, string>) => ({
      location: redirectLocation(ctx.services.config, input.callbackURL, params),
    });
    const now = ctx.services.now();
    try {
      const { twoFactorRequired, stale } = await ctx.em.transactional(async (em) => {
        const link = await consumeVerification(em, input.token ?? '', ['magic-link'], now);
        const { userId, stale } = await userForLink(em, ctx, link, now);
        // One transaction: the session (or challenge) commits with the token's use and the account.
        const result = await finishFirstFactor({ ...ctx, em }, userId, 'magic-link');
        return { twoFactorRequired: result.twoFactorRequired === true, stale };
      });
      await ctx.services.credentialCache.forget(stale);
      return to(twoFactorRequired ? { twoFactorRequired: 'true' } : {});
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) return to({ error: 'CONFLICT' });
      if (error instanceof ApiError && LINK_ERRORS.has(error.apiCode)) return to({ error: error.apiCode });
      throw error;
    }
  });

/**
 * The account a consumed link signs in to: the one it was mailed to (still at that address), or for a
 * link to an address without an account, the account made since or a new one. Marks the address
 * verified; `stale` are the cached credentials that carried it unverified.
 */
async function userForLink(
  em: EntityManager,
  ctx: Context,
  link: { userId: string | null; email: string },
  now: Date,
): Promise<{ userId: string; stale: string[] }> {
  const user = await em.findOne(UserSchema, link.userId ? { id: link.userId } : { email: link.email });
  if (!user) {
    if (link.userId || !ctx.services.config.magicLinkSignUp) throw invalidToken();
    const fullName = link.email.slice(0, link.email.indexOf('@')).slice(0, 200) || link.email;
    const created = createAccount(em, ctx, { email: link.email, fullName, verifiedAt: now, now });
    await em.flush();
    return { userId: created.id, stale: [] };
  }
  // The address changed since the link was sent: it proves nothing about the current one.
  if (user.email !== link.email) throw invalidToken();
  if (!user.isActive) throw new ApiError('USER_NOT_ACTIVE', 'This account is deactivated');
  if (user.verifiedAt) return { userId: user.id, stale: [] };
  user.verifiedAt = now;
  user.updatedAt = now;
  await em.flush();
  return { userId: user.id, stale: await userCacheKeys(em, user.id) };
}
