import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { verifyRegistrationResponse, type VerifiedRegistrationResponse } from '@simplewebauthn/server';
import { z } from 'zod';
import { PasskeySchema } from '../../../entities/passkey.js';
import { userCacheKeys } from '../../../server/auth/sessions.js';
import { ApiError } from '../../../server/errors.js';
import { newId } from '../../../server/ids.js';
import { sessionProcedure } from '../../../server/trpc.js';
import { PasskeySummary, passkeySummary } from './passkey.js';
import { challengeOf, consumeChallenge, reasonOf, RegistrationResponse, relyingParty } from './webauthn.js';

/**
 * POST /api/auth/passkey/register/verify: checks the authenticator's answer to register/options and
 * stores the passkey.
 *
 * - The challenge must be one this user got from register/options, live and unused (webauthn.ts);
 *   it is spent by this attempt whatever its outcome.
 * - Origin and RP ID must be BASE_URL's; user presence is required, user verification is not (it was
 *   only preferred). A response that does not verify is 400 BAD_REQUEST with the reason.
 * - A credential already registered (by anyone) is 409 CONFLICT.
 * - Cached memberships are dropped: the organization MFA policy reads the member's passkeys through them.
 */
export const registerVerify = sessionProcedure
  .meta({
    openapi: { method: 'POST', path: '/auth/passkey/register/verify', tags: ['auth'], summary: 'Add a passkey' },
    message: 'Passkey registered successfully',
    status: 201,
    rateLimit: ['passkey'],
  })
  .input(
    z.strictObject({
      response: RegistrationResponse,
      name: z.string().trim().min(1, 'Must not be empty').max(100, 'Must be at most 100 characters').optional(),
    }),
  )
  .output(PasskeySummary)
  .mutation(async ({ ctx, input }) => {
    const userId = ctx.principal.userId;
    const now = ctx.services.now();
    const challenge = challengeOf(input.response.response.clientDataJSON);
    await consumeChallenge(ctx.em, challenge, 'register', userId, now);

    const { rpID, origin } = relyingParty(ctx.services.config);
    let verification: VerifiedRegistrationResponse;
    try {
      verification = await verifyRegistrationResponse({
        response: input.response,
        expectedChallenge: challenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        requireUserVerification: false,
      });
    } catch (error) {
      throw new ApiError('BAD_REQUEST', `The passkey registration did not verify: ${reasonOf(error)}`);
    }
    if (!verification.verified) throw new ApiError('BAD_REQUEST', 'The passkey registration did not verify');
    const info = verification.registrationInfo;
    if (info.credential.id.length > 1024) {
      throw new ApiError('BAD_REQUEST', 'The credential id is longer than 768 bytes; this service cannot store it');
    }

    const passkey = ctx.em.create(PasskeySchema, {
      id: newId(),
      userId,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: String(info.credential.counter),
      transports: input.response.response.transports ?? [],
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      aaguid: info.aaguid,
      name: input.name ?? 'Passkey',
      createdAt: now,
      lastUsedAt: null,
    });
    try {
      await ctx.em.persist(passkey).flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ApiError('CONFLICT', 'This passkey is already registered');
      }
      throw error;
    }
    await ctx.services.credentialCache.forget(await userCacheKeys(ctx.em, userId));
    return passkeySummary(passkey);
  });
