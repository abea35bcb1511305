/**
 * The URLs of an SSO connection, in one place: what its identity provider's administrator registers
 * (SAML entity id and metadata, ACS, OpenID Connect redirect URI) and where a member's sign-in through
 * it starts. They depend only on BASE_URL and the connection id, so they never change.
 */
export interface SsoUrls {
  /** Our SAML entity id, and where our SP metadata is served. */
  metadata: string;
  /** SAML Assertion Consumer Service (HTTP-POST binding). */
  acs: string;
  /** OpenID Connect redirect URI. */
  callback: string;
  /** GET: starts a sign-in through the connection (identify, discovery and SSO_REQUIRED hand it out). */
  signIn: string;
}

export function ssoUrls(baseUrl: string, connectionId: string): SsoUrls {
  const root = baseUrl.replace(/\/$/, '');
  const base = `${root}/api/auth/sso/${connectionId}`;
  const signIn = new URL(`${root}/api/auth/sso/sign-in`);
  signIn.searchParams.set('providerId', connectionId);
  return { metadata: `${base}/metadata`, acs: `${base}/acs`, callback: `${base}/callback`, signIn: signIn.href };
}
