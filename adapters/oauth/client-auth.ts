/**
 * Client credentials at the token, introspection and revocation endpoints (RFC 6749 section 2.3.1).
 *
 * - Credentials come form-encoded in `Authorization: Basic`, or posted as client_id and client_secret.
 *   Basic credentials that are not properly form-encoded are a failed client authentication
 *   (invalid_client), not an error of the server.
 * - A client has proven itself only when it is a confidential client of the registry and the SHA-256
 *   of the secret it presents equals the stored one, compared in constant time. A public client
 *   (token_endpoint_auth_method none) is identified by its client_id alone and proves nothing.
 * - The provider is handed the secret's SHA-256 in the Basic header, which is how clients are
 *   registered with it (adapter.ts), and compares it in constant time itself: the secret goes no further.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Request } from 'express';
import { constantTimeEqual, sha256Hex } from '../../server/crypto.js';
import { registeredClient } from './adapter.js';

export interface PresentedCredentials {
  clientId?: string;
  secret?: string;
  /** Whether they came in the Basic header (else posted in the body, or absent). */
  basic: boolean;
}

/** A client of the registry named by a request, and whether the request proved to be it. */
export interface NamedClient {
  clientId: string;
  /** A confidential client whose secret matched. */
  proven: boolean;
  /** A public client, named without a secret (as it must be). */
  public: boolean;
}

function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}

/** The credentials a request presents; null when its Basic header is not properly form-encoded. */
export function presentedCredentials(req: Request): PresentedCredentials | null {
  const header = req.headers.authorization;
  if (header?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // Without a colon the header is not Basic credentials at all: the provider says so itself.
    if (colon < 0) return { basic: true };
    const clientId = formDecode(decoded.slice(0, colon));
    const secret = formDecode(decoded.slice(colon + 1));
    if (clientId === undefined || secret === undefined) return null;
    return { clientId, secret, basic: true };
  }
  const body = req.body as Record<string, unknown> | undefined;
  return {
    ...(typeof body?.client_id === 'string' ? { clientId: body.client_id } : {}),
    ...(typeof body?.client_secret === 'string' ? { secret: body.client_secret } : {}),
    basic: false,
  };
}

/** Which registered client the credentials name, and whether they prove it; undefined for none. */
export async function namedClient(
  em: EntityManager,
  presented: PresentedCredentials,
): Promise<NamedClient | undefined> {
  if (presented.clientId === undefined) return undefined;
  const client = await registeredClient(em, presented.clientId);
  if (!client) return undefined;
  const secretHash = typeof client.client_secret === 'string' ? client.client_secret : undefined;
  const proven =
    secretHash !== undefined &&
    presented.secret !== undefined &&
    constantTimeEqual(sha256Hex(presented.secret), secretHash);
  return { clientId: presented.clientId, proven, public: secretHash === undefined && presented.secret === undefined };
}

/**
 * Hands the credentials on to the provider as it expects them: the secret's hash in the Basic header,
 * a posted secret taken out of the body. Credentials sent both ways are left for the provider to refuse.
 */
export function handOnHashed(req: Request, presented: PresentedCredentials): void {
  if (presented.clientId === undefined || presented.secret === undefined) return;
  if (!presented.basic) {
    if (req.headers.authorization) return;
    const { client_id: _clientId, client_secret: _secret, ...rest } = req.body as Record<string, unknown>;
    req.body = rest;
  }
  req.headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(presented.clientId)}:${sha256Hex(presented.secret)}`).toString('base64')}`;
}
