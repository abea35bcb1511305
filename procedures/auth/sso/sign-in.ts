import { z } from 'zod';
import type { Context } from '../../../server/context.js';
import { ApiError } from '../../../server/errors.js';
import { authProcedure, type Meta } from '../../../server/trpc.js';
import { trustedCallback } from '../callback-url.js';
import { recordingFailures } from '../federated/complete.js';
import { ssoDomainRule } from '../identify.js';
import { CallbackURL } from '../magic-link/send.js';
import { Email } from '../schemas.js';
import { findConnection, ssoProvider } from './connection.js';
import { startOidc } from './oidc.js';
import { startSaml } from './saml.js';

/** Which connection to sign in with: its id, or an address on a domain verified for it. */
export const StartSsoInput = z
  .strictObject({ providerId: z.string().max(64).optional(), email: Email.optional(), callbackURL: CallbackURL })
  .refine((input) => (input.providerId === undefined) !== (input.email === undefined), {
    message: 'Give exactly one of providerId and email',
    path: ['providerId'],
  });

export const SSO_START_DESCRIPTION =
  '303 to the identity provider: an OpenID Connect authorization request (state, nonce, PKCE S256) or a SAML ' +
  'AuthnRequest by the redirect binding (RelayState). Name the connection by `providerId`, or by `email`, whose ' +
  'domain an organization verified for it (404 otherwise). After the sign-in the browser lands on `callbackURL` ' +
  'when it is on a trusted origin, else on APP_URL.';

/** What the POST and the GET start share besides their method and summary. */
export const SSO_START_META = {
  message: 'Redirecting to the identity provider',
  // Each start writes a flow row before anyone is known: the sign-in budget, as for social sign-in.
  rateLimit: ['signIn'],
  redirect: true,
  errors: ['NOT_FOUND', 'BAD_REQUEST', 'FEDERATION_FAILED'],
} satisfies Meta;

/**
 * Starts an SSO sign-in (POST and GET /api/auth/sso/sign-in): the connection is found, the flow
 * recorded (10 minutes, single use, bound to this browser) and the browser sent to the provider.
 * A refusal once the connection is known (an insecure or unreachable issuer) is in the login history.
 */
export async function startSsoSignIn(
  ctx: Context,
  input: z.output<typeof StartSsoInput>,
): Promise<{ location: string }> {
  let providerId = input.providerId;
  if (input.email !== undefined) {
    const rule = await ssoDomainRule(ctx, input.email);
    if (!rule) throw new ApiError('NOT_FOUND', 'No organization has verified this address’s domain for SSO');
    providerId = rule.providerId;
  }
  const connection = await findConnection(ctx, providerId ?? '');
  const callbackUrl = trustedCallback(ctx.services.config, input.callbackURL)?.href;
  const attempt = {
    method: 'sso' as const,
    provider: ssoProvider(connection.id),
    email: input.email ?? null,
    userId: null,
  };
  return recordingFailures(ctx, attempt, () =>
    connection.type === 'saml' ? startSaml(ctx, connection, callbackUrl) : startOidc(ctx, connection, callbackUrl),
  );
}

/** POST /api/auth/sso/sign-in: see startSsoSignIn. */
export const ssoSignIn = authProcedure
  .meta({
    openapi: {
      method: 'POST',
      path: '/auth/sso/sign-in',
      tags: ['sso'],
      summary: 'Start an SSO sign-in',
      description: SSO_START_DESCRIPTION,
    },
    ...SSO_START_META,
  })
  .input(StartSsoInput)
  .output(z.object({ location: z.string() }))
  .mutation(({ ctx, input }) => startSsoSignIn(ctx, input));
