/**
 * Per-request plumbing that every route shares: the request id (a client's safe X-Request-Id is
 * echoed, else a UUID), a `req.log` child logger carrying it, and one line per finished request.
 *
 * The child logger is made on first use and the access line only when its level is enabled, so a
 * quiet production log costs the hot path next to nothing. Credentials never reach the log: only
 * method, path, status, duration and the client address are written; never the query string, and a
 * path that carries a secret (an invitation token) is written as its route pattern, through `shownPath`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './logger.js';

const SAFE_REQUEST_ID = /^[\w.:@-]{1,128}$/;

declare module 'http' {
  interface IncomingMessage {
    id: string;
    log: Logger;
  }
}

export function requestLog(log: Logger, shownPath: (path: string) => string = (path) => path) {
  const accessLevel = 'info';
  return (req: IncomingMessage, res: ServerResponse): void => {
    const sent = req.headers['x-request-id'];
    const id = typeof sent === 'string' && SAFE_REQUEST_ID.test(sent) ? sent : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', { get: () => (child ??= log.child({ reqId: id })), configurable: true });
    if (log.isLevelEnabled(accessLevel) || log.isLevelEnabled('error')) {
      // As it came: adapters and Express's routers see it below where they are mounted.
      const url = req.url ?? '/';
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const level = res.statusCode >= 500 ? 'error' : accessLevel;
        if (!log.isLevelEnabled(level)) return;
        req.log[level](
          {
            method: req.method,
            url: shownPath(url.split('?')[0] ?? ''),
            status: res.statusCode,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
            ip: req.clientIp,
          },
          'request finished',
        );
      });
    }
  };
}
