import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import { z } from 'zod';
import { toDateOrNull } from '../../../server/database.js';
import { ApiError } from '../../../server/errors.js';
import { authProcedure } from '../../../server/trpc.js';
import { iso, SignedIn, userSummary } from '../schemas.js';
import { recordLogin, startSession } from '../start-session.js';
import { AuthenticationResponse, challengeOf, consumeChallenge, reasonOf, relyingParty } from './webauthn.js';

/**
 * POST /api/auth/passkey/authenticate/verify: a usernameless sign-in with a passkey.
 *
 * - The challenge must come from authenticate/options, live and unused; it is spent by this attempt
 *   whatever its outcome (webauthn.ts), so an assertion cannot be replayed.
 * - The credential is found by its id; unknown is 401 INVALID_CREDENTIALS and recorded nowhere (no
 *   account to record it on). Every later refusal is a `webauthn` failure in the owner's sign-in history.
 * - The assertion must verify for BASE_URL's origin and RP ID against the stored public key, and its
 *   user handle, when given, must be the passkey's user.
 * - Clone detection: once an authenticator counts signatures, each assertion's counter must exceed the
 *   stored one. A validly signed assertion whose counter did not (a copy of the key in use elsewhere)
 *   is refused with INVALID_CREDENTIALS and recorded as `counter-regressed` in the owner's sign-in
 *   history, the account-level trail; the stored counter is left as it was. The library's own counter
 *   check is bypassed so that this is decided only for a genuine signature, and the counter is then
 *   advanced with a conditional UPDATE, so two concurrent uses of one assertion cannot both pass.
 * - A deactivated account is told so only after the passkey is proven.
 * - Success starts a session whose methods are `webauthn`: a passkey proves possession and (with
 *   user verification) the user, so no second factor is asked even when TOTP is on.
 */
export const authenticateVerify = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/passkey/authenticate/verify',
      tags: ['auth'],
      summary: 'Sign in with a passkey',
    },
    message: 'Signed in successfully',
    rateLimit: ['passkey'],
    errors: ['INVALID_CREDENTIALS', 'USER_NOT_ACTIVE'],
  })
  .input(z.strictObject({ response: AuthenticationResponse }))
  .output(SignedIn)
  .mutation(async ({ ctx, input }) => {
    const now = ctx.services.now();
    const challenge = challengeOf(input.response.response.clientDataJSON);
    await consumeChallenge(ctx.em, challenge, 'authenticate', null, now);

    const [passkey] = await ctx.em.getConnection().execute<PasskeyRow[]>(
      `select p.id, p.user_id, p.public_key, p.counter, p.transports,
              u.email, u.full_name, u.is_active, u.verified_at
         from passkeys p join users u on u.id = p.user_id
        where p.credential_id = ?`,
      [input.response.id],
    );
    const refused = () => new ApiError('INVALID_CREDENTIALS', 'This passkey is not recognised or did not verify');
    if (!passkey) throw refused();
    const fail = async (reason: string) => {
      recordLogin(ctx.em, ctx, { userId: passkey.user_id, method: 'webauthn', outcome: 'failure', reason, now });
      await ctx.em.flush();
    };

    const userHandle = input.response.response.userHandle;
    if (userHandle !== undefined && Buffer.from(userHandle, 'base64url').toString('utf8') !== passkey.user_id) {
      await fail('user-handle-mismatch');
      throw refused();
    }
    const { rpID, origin } = relyingParty(ctx.services.config);
    let verified: { ok: boolean; newCounter: number; backedUp: boolean };
    try {
      const result = await verifyAuthenticationResponse({
        response: input.response,
        expectedChallenge: challenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        // Counter 0 turns the library's counter check off; the clone rule below decides instead.
        credential: {
          id: input.response.id,
          publicKey: Buffer.from(passkey.public_key, 'base64url'),
          counter: 0,
          transports: passkey.transports,
        },
        requireUserVerification: false,
      });
      const info = result.authenticationInfo;
      verified = { ok: result.verified, newCounter: info.newCounter, backedUp: info.credentialBackedUp };
    } catch (error) {
      ctx.log.info({ passkeyId: passkey.id, reason: reasonOf(error) }, 'passkey assertion did not verify');
      verified = { ok: false, newCounter: 0, backedUp: false };
    }
    if (!verified.ok) {
      await fail('not-verified');
      throw refused();
    }

    const stored = Number(passkey.counter);
    const cloned = async () => {
      ctx.log.warn(
        { passkeyId: passkey.id, userId: passkey.user_id, counter: verified.newCounter, stored },
        'passkey signature counter did not increase: possibly a cloned authenticator',
      );
      await fail('counter-regressed');
      return refused();
    };
    if ((verified.newCounter > 0 || stored > 0) && verified.newCounter <= stored) throw await cloned();
    if (!passkey.is_active) {
      await fail('inactive');
      throw new ApiError('USER_NOT_ACTIVE', 'This account has been deactivated');
    }

    const session = await ctx.em.transactional(async (em) => {
      const advanced = await em.getConnection().execute<unknown[]>(
        `update passkeys set counter = ?, backed_up = ?, last_used_at = ?
          where id = ? and (counter < ? or (counter = 0 and ? = 0)) returning id`,
        [verified.newCounter, verified.backedUp, now, passkey.id, verified.newCounter, verified.newCounter],
        'all',
        em.getTransactionContext(),
      );
      if (advanced.length === 0) return null;
      return startSession(em, ctx, passkey.user_id, now, ['webauthn']);
    });
    if (!session) throw await cloned();
    const user = {
      id: passkey.user_id,
      email: passkey.email,
      fullName: passkey.full_name,
      verifiedAt: toDateOrNull(passkey.verified_at),
    };
    return { user: userSummary(user), session: { id: session.id, expiresAt: iso(session.expiresAt) } };
  });

interface PasskeyRow {
  id: string;
  user_id: string;
  public_key: string;
  counter: string;
  transports: string[];
  email: string;
  full_name: string;
  is_active: boolean;
  verified_at: string | null;
}
