import { z } from 'zod';
import { authProcedure } from '../../../server/trpc.js';
import { recordingFailures, SSO_CALLBACK_ERRORS } from '../federated/complete.js';
import { findConnection, ssoProvider } from './connection.js';
import { finishOidc } from './oidc.js';

const Param = z.string().max(4096).optional();

/**
 * GET /api/auth/sso/{providerId}/callback: the OpenID Connect redirect URI of a connection. Finishes
 * the sign-in (oidc.ts): the flow is used up, the code exchanged and the ID token verified, the
 * address's domain checked, then the user is signed in (session method `sso`) and made a member just
 * in time. Every refusal is a 4xx envelope and a login history row with its reason; nothing is created.
 */
export const ssoOidcCallback = authProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/auth/sso/{providerId}/callback',
      tags: ['sso'],
      summary: 'OpenID Connect callback of an SSO connection',
      description:
        'Register `$BASE_URL/api/auth/sso/{providerId}/callback` as the redirect URI at the identity provider. ' +
        '303 to the callbackURL given at the start (or APP_URL) with the session cookie set.',
    },
    message: 'Signed in',
    redirect: true,
    errors: SSO_CALLBACK_ERRORS,
  })
  // Providers add parameters of their own (session_state, error_description): they are ignored.
  .input(z.object({ providerId: z.string().max(64), code: Param, state: Param, iss: Param, error: Param }))
  .output(z.object({ location: z.string() }))
  .query(async ({ ctx, input: { providerId, ...answer } }) => {
    const connection = await findConnection(ctx, providerId, 'oidc');
    const attempt = { method: 'sso' as const, provider: ssoProvider(connection.id), email: null, userId: null };
    return recordingFailures(ctx, attempt, (attempt) => finishOidc(ctx, connection, attempt, answer));
  });
