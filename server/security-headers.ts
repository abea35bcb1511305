/**
 * Security headers on every response, set from one precomputed list: HSTS for a year with
 * subdomains (API.md section 3), no sniffing, no framing, no referrer, and a CSP that lets a JSON
 * API load nothing (the docs page sets its own).
 */
import type { ServerResponse } from 'node:http';

const HEADERS: [string, string][] = [
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  ['Referrer-Policy', 'no-referrer'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of HEADERS) res.setHeader(name, value);
}
