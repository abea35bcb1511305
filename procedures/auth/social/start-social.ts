import { z } from 'zod';
import { authProcedure } from '../../../server/trpc.js';
import { trustedCallback } from '../callback-url.js';
import { redirectToProvider } from '../federated/authorization.js';
import { CallbackURL } from '../magic-link/send.js';
import { clientFor, socialProvider, socialRedirectUri, socialScope, unavailable } from './providers.js';

/**
 * GET /api/auth/social/{provider}: sends the browser to the provider's sign-in.
 *
 * - state, nonce (OpenID Connect) and the PKCE S256 verifier are kept server-side, encrypted, for 10
 *   minutes, used once, and bound to this browser by a cookie (procedures/auth/federated/state.ts).
 * - callbackURL, where the browser ends up signed in, is kept only when on a trusted origin; otherwise
 *   APP_URL (as magic links do). An unknown or unconfigured provider is 404.
 * - A provider whose discovery document cannot be fetched is 503: nothing is recorded.
 */
export const startSocial = authProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/auth/social/{provider}',
      tags: ['social'],
      summary: 'Sign in with a social provider',
      description:
        '303 to the provider (`google`, `github`, or the OIDC_PROVIDER_ID of a configured issuer); its answer ' +
        'comes back to /auth/social/{provider}/callback, which signs in and sends the browser to callbackURL.',
    },
    message: 'Redirecting to the provider',
    rateLimit: ['signIn'],
    redirect: true,
    errors: ['NOT_FOUND', 'SERVICE_UNAVAILABLE'],
  })
  .input(z.object({ provider: z.string().max(64), callbackURL: CallbackURL }))
  .output(z.object({ location: z.string() }))
  .query(async ({ ctx, input }) => {
    const { config } = ctx.services;
    const provider = socialProvider(config, input.provider);
    const client = await clientFor(provider).catch((error: unknown) => {
      throw unavailable(error);
    });
    return redirectToProvider(
      ctx,
      client,
      { kind: 'social', provider: provider.id, callbackUrl: trustedCallback(config, input.callbackURL)?.href },
      {
        redirectUri: socialRedirectUri(config, provider.id),
        scope: socialScope(provider),
        withNonce: provider.kind === 'oidc',
      },
    );
  });
