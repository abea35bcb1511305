/**
 * The CSRF token of a server-rendered form: the HMAC of a value that binds the form to one browser
 * because only that browser holds it in a cookie. The OpenID provider's pages bind to the
 * interaction's uid (the provider keeps it in its interaction cookie); the pages of mail links bind to
 * a random value in a cookie of their own (`formBinding`).
 *
 * Rules: a form is accepted only with the token of the value its request carries, compared in
 * constant time; the key is derived for one purpose (server/secrets.ts), never shared.
 */
import { createHmac } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Config } from '../../server/config.js';
import { randomToken, TOKEN_PATTERN, constantTimeEqual } from '../../server/crypto.js';

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

/** `__Host-` over https (as the session cookie): no other host or path can set it. */
const cookieName = (config: Pick<Config, 'baseUrl'>) => (config.baseUrl.startsWith('https:') ? '__Host-form' : 'form');

/** The binding value this browser sends in its cookie, if it sends a well-formed one. */
export function sentBinding(config: Pick<Config, 'baseUrl'>, req: Request): string | undefined {
  const prefix = `${cookieName(config)}=`;
  const value = req.headers.cookie
    ?.split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith(prefix))
    ?.slice(prefix.length);
  return value && TOKEN_PATTERN.test(value) ? value : undefined;
}

/**
 * The browser's binding value: the one it sent, or a new one set in its cookie with this answer.
 * SameSite=Lax, as the session cookie: a link opened from a mail client (another site) still sends it,
 * so a page opened twice keeps one value and both forms work.
 */
export function formBinding(config: Pick<Config, 'baseUrl'>, req: Request, res: Response): string {
  const sent = sentBinding(config, req);
  if (sent) return sent;
  const value = randomToken();
  res.appendHeader('Set-Cookie', `${cookieName(config)}=${value}; Path=/; HttpOnly; Secure; SameSite=Lax`);
  return value;
}
