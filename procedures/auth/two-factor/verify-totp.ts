import { z } from 'zod';
import { authProcedure } from '../../../server/trpc.js';
import { iso, SignedIn, userSummary } from '../schemas.js';
import { verifySecondFactor } from './second-factor.js';
import { TotpCode } from './totp.js';

/**
 * POST /api/auth/two-factor/verify-totp: the second step of a sign-in, with the challenge cookie from
 * sign-in and a code from the authenticator app; answers like sign-in and sets the session cookie.
 * Rules in second-factor.ts.
 */
export const verifyTotp = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/two-factor/verify-totp',
      tags: ['auth'],
      summary: 'Finish signing in with an authenticator code',
    },
    message: 'Signed in successfully',
    rateLimit: ['twoFactor'],
    errors: ['INVALID_CREDENTIALS', 'INVALID_OR_EXPIRED_TOKEN', 'USER_NOT_ACTIVE'],
  })
  .input(z.strictObject({ code: TotpCode }))
  .output(SignedIn)
  .mutation(async ({ ctx, input }) => {
    const { user, session } = await verifySecondFactor(ctx, 'otp', input.code);
    return { user: userSummary(user), session: { id: session.id, expiresAt: iso(session.expiresAt) } };
  });
