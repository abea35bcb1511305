/** Budgets that key on what the request names (an email), not only on who sends it. */
import type { Context } from '../../server/context.js';
import { clientKey } from '../../server/rate-limit.js';
import { rateLimitError, setRateLimitHeaders } from '../../server/trpc.js';

/** Reset and verification mail: 5 an hour per IP and per target address (API.md section 8). */
export async function spendEmailBudget(ctx: Context, email: string): Promise<void> {
  const [byIp, byEmail] = await Promise.all([
    ctx.services.limiter.consume('emailSend', `ip:${clientKey(ctx.ip)}`),
    ctx.services.limiter.consume('emailSend', `email:${email}`),
  ]);
  const refused = [byIp, byEmail].find((result) => !result.allowed);
  if (refused) {
    setRateLimitHeaders(ctx.res, refused);
    throw rateLimitError(refused);
  }
}
