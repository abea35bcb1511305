/**
 * The CSRF token of a server-rendered form: the HMAC of a value that binds the form to one browser
 * because only that browser holds it in a cookie. The OpenID provider's pages bind to the
 * interaction's uid (the provider keeps it in its interaction cookie).
 *
 * Rules: a form is accepted only with the token of the value its request carries, compared in
 * constant time; the key is derived for one purpose (server/secrets.ts), never shared.
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../server/crypto.js';

export function formCsrf(key: string) {
  const tokenFor = (binding: string) => createHmac('sha256', key).update(binding).digest('base64url');
  return {
    tokenFor,
    /** Whether the form's `csrf` field is the token of `binding`. */
    sentWith(body: unknown, binding: string): boolean {
      const sent = (body as { csrf?: unknown } | undefined)?.csrf;
      return typeof sent === 'string' && constantTimeEqual(sent, tokenFor(binding));
    },
  };
}
