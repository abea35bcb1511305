/**
 * Recognises "the database cannot be reached" among the errors the driver stack throws
 * (pg, knex's pool, MikroORM's converters), so that it becomes 503 SERVICE_UNAVAILABLE rather than
 * INTERNAL_ERROR. A query that reached PostgreSQL and failed there is not one of these.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection exceptions.
const PG_UNAVAILABLE = /^(57P0[123]|08\d{3})$/;
const MESSAGES = /Connection terminated|Timeout acquiring a connection|connect ECONNREFUSED|Client has encountered a connection error|Connection ended unexpectedly/i;

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 4) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || PG_UNAVAILABLE.test(code))) return true;
  if (error.name === 'KnexTimeoutError' || error.name === 'ConnectionException') return true;
  if (MESSAGES.test(error.message)) return true;
  return isDatabaseUnavailable((error as { cause?: unknown }).cause, depth + 1);
}
