import { z } from 'zod';
import { authProcedure } from '../../../server/trpc.js';
import { recordingFailures, SSO_CALLBACK_ERRORS } from '../federated/complete.js';
import { findConnection, ssoProvider } from './connection.js';
import { finishSaml } from './saml.js';

/**
 * POST /api/auth/sso/{providerId}/acs: the SAML Assertion Consumer Service (HTTP-POST binding) of a
 * connection, posted by the identity provider's page as a form. Finishes the sign-in (saml.ts): the
 * response is verified and its flow used up, the address's domain checked, then the user is signed
 * in (session method `sso`) and made a member just in time. Every refusal is a 4xx envelope and a
 * login history row with its reason; nothing is created.
 */
export const ssoSamlAcs = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/sso/{providerId}/acs',
      tags: ['sso'],
      summary: 'SAML Assertion Consumer Service of an SSO connection',
      description:
        'The identity provider posts `SAMLResponse` (and `RelayState`) here as a form ' +
        '(application/x-www-form-urlencoded). 303 to the callbackURL given at the start (or APP_URL; for an ' +
        'IdP-initiated sign-in the connection allows, a RelayState URL on a trusted origin) with the session cookie set.',
    },
    message: 'Signed in',
    redirect: true,
    form: true,
    errors: SSO_CALLBACK_ERRORS,
  })
  // An identity provider's form may carry fields of its own: they are ignored, not refused.
  .input(
    z.object({
      providerId: z.string().max(64),
      SAMLResponse: z.string().min(1).max(512_000),
      RelayState: z.string().max(4096).optional(),
    }),
  )
  .output(z.object({ location: z.string() }))
  .mutation(async ({ ctx, input: { providerId, ...form } }) => {
    const connection = await findConnection(ctx, providerId, 'saml');
    const attempt = { method: 'sso' as const, provider: ssoProvider(connection.id), email: null, userId: null };
    return recordingFailures(ctx, attempt, (attempt) => finishSaml(ctx, connection, attempt, form));
  });
