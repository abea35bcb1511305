import { generateRegistrationOptions } from '@simplewebauthn/server';
import { z } from 'zod';
import { PasskeySchema } from '../../../entities/passkey.js';
import { UserSchema } from '../../../entities/user.js';
import { sessionProcedure } from '../../../server/trpc.js';
import { CHALLENGE_TTL_MS, CreationOptions, relyingParty, RP_NAME, storeChallenge } from './webauthn.js';

/**
 * POST /api/auth/passkey/register/options: the options for navigator.credentials.create(). A
 * discoverable credential (resident key required, so the sign-in can be usernameless), user
 * verification preferred, no attestation; the user's passkeys are excluded so an authenticator is
 * not registered twice. The user handle is the user's id.
 */
export const registerOptions = sessionProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/passkey/register/options',
      tags: ['auth'],
      summary: 'Options to register a passkey',
    },
    message: 'Passkey registration options created',
    rateLimit: ['passkey'],
  })
  .input(z.strictObject({}))
  .output(CreationOptions)
  .mutation(async ({ ctx }) => {
    const userId = ctx.principal.userId;
    const [user, existing] = await Promise.all([
      ctx.em.findOneOrFail(UserSchema, { id: userId }, { fields: ['email', 'fullName'] }),
      ctx.em.find(PasskeySchema, { userId }, { fields: ['credentialId', 'transports'], orderBy: { id: 'asc' } }),
    ]);
    const options = await generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: relyingParty(ctx.services.config).rpID,
      userName: user.email,
      userID: new TextEncoder().encode(userId),
      userDisplayName: user.fullName,
      timeout: CHALLENGE_TTL_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    await storeChallenge(ctx.em, options.challenge, 'register', userId, ctx.services.now());
    return options;
  });
