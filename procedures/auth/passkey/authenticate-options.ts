import { generateAuthenticationOptions } from '@simplewebauthn/server';
import { z } from 'zod';
import { authProcedure } from '../../../server/trpc.js';
import { CHALLENGE_TTL_MS, relyingParty, RequestOptions, storeChallenge } from './webauthn.js';

/**
 * POST /api/auth/passkey/authenticate/options: the options for navigator.credentials.get(), for a
 * usernameless sign-in: no allowCredentials (the authenticator offers its discoverable credentials
 * for this RP ID), user verification preferred. The challenge is bound to nobody.
 */
export const authenticateOptions = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/passkey/authenticate/options',
      tags: ['auth'],
      summary: 'Options to sign in with a passkey',
    },
    message: 'Passkey sign-in options created',
    rateLimit: ['passkey'],
  })
  .input(z.strictObject({}))
  .output(RequestOptions)
  .mutation(async ({ ctx }) => {
    const options = await generateAuthenticationOptions({
      rpID: relyingParty(ctx.services.config).rpID,
      allowCredentials: [],
      userVerification: 'preferred',
      timeout: CHALLENGE_TTL_MS,
    });
    await storeChallenge(ctx.em, options.challenge, 'authenticate', null, ctx.services.now());
    return options;
  });
