/**
 * The redirect that starts an OAuth 2.0 / OpenID Connect sign-in at a provider, social or SSO: a PKCE
 * S256 verifier, a nonce when an ID token is expected, the flow recorded with them (state.ts), and
 * the authorization URL openid-client builds from the provider's configuration.
 */
import * as oidc from 'openid-client';
import type { Context } from '../../../server/context.js';
import { beginFederatedFlow, type NewFederatedFlow } from './state.js';

export async function redirectToProvider(
  ctx: Context,
  configuration: oidc.Configuration,
  flow: Omit<NewFederatedFlow, 'secrets'>,
  request: { redirectUri: string; scope: string; withNonce: boolean },
): Promise<{ location: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = request.withNonce ? oidc.randomNonce() : undefined;
  const state = await beginFederatedFlow(ctx, { ...flow, secrets: nonce ? { verifier, nonce } : { verifier } });
  const parameters: Record<string, string> = {
    redirect_uri: request.redirectUri,
    scope: request.scope,
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  };
  if (nonce) parameters.nonce = nonce;
  return { location: oidc.buildAuthorizationUrl(configuration, parameters).href };
}
