/**
 * The layout of every server-rendered page (the OpenID provider's sign-in and consent pages, the
 * pages the links in mail open): one small inline style, no script, readable without JavaScript.
 *
 * Rules: every value put into a page goes through `escapeHtml`; pages are sent with `sendPage`, which
 * forbids framing, scripts and caching.
 */
import type { Response } from 'express';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#a00}ul{padding-left:1.2rem}img{max-height:3rem}</style>
</head><body><main>${body}</main></body></html>`;
}

/** A page whose forms post to this origin: its inline style, nothing else, and no framing. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/**
 * Sends a page: no framing, no script, nothing cached. Its forms post with an Origin header, which the
 * cookie check of the API reads (TRUSTED_ORIGINS): under the `no-referrer` policy every other answer
 * carries, browsers send `Origin: null` instead. `strict-origin` still gives no more than the origin.
 */
export function sendPage(res: Response, status: number, html: string, csp = PAGE_CSP): void {
  res.status(status).setHeader('Content-Security-Policy', csp);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'strict-origin');
  res.type('html').send(html);
}
