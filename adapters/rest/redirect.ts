/** A procedure whose output says where the browser goes next (meta.redirect): 303 See Other, no body. */
import type { ServerResponse } from 'node:http';

export interface Redirect {
  location: string;
}

/**
 * 303, so that the browser follows with a GET whatever the method was; cookies the procedure set
 * (ctx.setCookie) are already on the response.
 */
export function sendRedirect(res: ServerResponse, redirect: Redirect): void {
  res.statusCode = 303;
  res.setHeader('Location', redirect.location);
  res.setHeader('Content-Length', '0');
  res.end();
}
