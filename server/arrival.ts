/**
 * Spending a request's global budget as it arrives: when its headers are in and before anything reads
 * its body, so that a spent client cannot make the server read and parse megabytes. The RateLimit-*
 * headers are set from the result, and a refused request that announced a body is answered with
 * Connection: close: the socket goes once the answer is out, and the body is never read.
 *
 * The adapter hands the result to the context (`globalBudget`), so that the procedure's guard does not
 * spend it again.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress, type Services } from './context.js';
import { clientKey, type RateLimitResult } from './rate-limit.js';
import { setRateLimitHeaders } from './trpc.js';

/** Whether a request says a body follows. */
export const announcesBody = (req: IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

export async function spendGlobalOnArrival(
  services: Services,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<RateLimitResult> {
  const budget = await services.limiter.consume('global', clientKey(clientAddress(req)));
  setRateLimitHeaders(res, budget);
  if (!budget.allowed && announcesBody(req)) res.setHeader('Connection', 'close');
  return budget;
}
