import * as oidc from 'openid-client';
import { z } from 'zod';
import { authProcedure } from '../../../server/trpc.js';
import { completeFederatedSignIn, recordingFailures } from '../federated/complete.js';
import { consumeFederatedFlow } from '../federated/state.js';
import { clientFor, identityFrom, providerFailure, socialProvider, socialRedirectUri } from './providers.js';

/** The authorization response's parameters the checks read; others the provider adds are ignored. */
const RESPONSE_PARAMETERS = ['code', 'state', 'iss', 'error', 'error_description'] as const;

/**
 * GET /api/auth/social/{provider}/callback: the provider's answer, opened by the browser that started.
 *
 * - The flow's state is used up first (unknown, used, expired, or from another browser: 400
 *   INVALID_FEDERATION_STATE), then openid-client checks the answer: the `iss` parameter, the code
 *   exchange with the PKCE verifier, and the ID token's signature, issuer, audience, nonce and times.
 * - Refusals are FEDERATION_FAILED with `meta.reason` (provider-error, issuer-mismatch,
 *   audience-mismatch, nonce-mismatch, token-expired, token-rejected, invalid-response, email-missing…);
 *   a provider that cannot be reached is 503. Each refusal is in the login history with its provider.
 * - Which account signs in, and what is created, is completeFederatedSignIn's (linking rules there);
 *   the answer is 303 to the flow's callbackURL with the session cookie, or the two-factor challenge.
 */
export const socialCallback = authProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/auth/social/{provider}/callback',
      tags: ['social'],
      summary: "The social provider's answer",
      description:
        '303 to the callbackURL the sign-in started with (or APP_URL), with the session cookie set; with ' +
        '`twoFactorRequired=true` and the challenge cookie instead when the user has two-factor on.',
    },
    message: 'Signed in',
    redirect: true,
    errors: [
      'NOT_FOUND',
      'INVALID_FEDERATION_STATE',
      'FEDERATION_FAILED',
      'EMAIL_NOT_VERIFIED',
      'ACCOUNT_NOT_LINKED',
      'USER_NOT_ACTIVE',
      'SERVICE_UNAVAILABLE',
    ],
  })
  .input(
    z.object({
      provider: z.string().max(64),
      code: z.string().max(4096).optional(),
      state: z.string().max(512).optional(),
      iss: z.string().max(2048).optional(),
      error: z.string().max(256).optional(),
      error_description: z.string().max(2048).optional(),
    }),
  )
  .output(z.object({ location: z.string() }))
  .query(async ({ ctx, input }) => {
    const { config } = ctx.services;
    const provider = socialProvider(config, input.provider);
    const attempt = { method: 'social' as const, provider: provider.id, email: null, userId: null };
    return recordingFailures(ctx, attempt, async () => {
      const flow = await consumeFederatedFlow(ctx, provider.id, { state: input.state });
      const answer = new URL(socialRedirectUri(config, provider.id));
      for (const name of RESPONSE_PARAMETERS) {
        const value = input[name];
        if (value !== undefined) answer.searchParams.set(name, value);
      }
      let identity: Awaited<ReturnType<typeof identityFrom>>;
      try {
        const client = await clientFor(provider);
        const tokens = await oidc.authorizationCodeGrant(client, answer, {
          pkceCodeVerifier: flow.secrets.verifier,
          expectedState: input.state,
          expectedNonce: flow.secrets.nonce,
          idTokenExpected: provider.kind === 'oidc',
        });
        identity = await identityFrom(provider, client, tokens);
      } catch (error) {
        throw providerFailure(error);
      }
      return completeFederatedSignIn(
        ctx,
        attempt,
        { method: 'social', provider: provider.id, ...identity },
        flow.callbackUrl,
      );
    });
  });
