/**
 * Recognises "the database cannot be reached" among the errors the driver stack throws (pg, knex and
 * its pool, MikroORM's converters), so that it becomes 503 SERVICE_UNAVAILABLE rather than
 * INTERNAL_ERROR. This is the one place that knows them; server/errors.ts asks it. A query that
 * reached PostgreSQL and failed there (a constraint, a syntax error) is not one of these.
 *
 * - Socket errors: refused, reset, timed out, broken pipe, unreachable or unresolvable host.
 * - PostgreSQL: 57P01 admin_shutdown (pg_terminate_backend, a failover), 57P02 crash_shutdown,
 *   57P03 cannot_connect_now (starting up or shutting down), 53300 too_many_connections, and the
 *   08xxx connection exceptions.
 * - pg: a connection ended or terminated under a query, a client no longer queryable.
 * - knex: pool acquisition timed out or impossible, and "Transaction query already complete", what
 *   a transaction whose connection died answers to every later query and to its rollback.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const PG_UNAVAILABLE = /^(57P0[123]|53300|08\d{3})$/;
const MESSAGES = new RegExp(
  [
    'Connection terminated',
    'Connection ended unexpectedly',
    'Client has encountered a connection error',
    'Client was closed and is not queryable',
    'timeout exceeded when trying to connect',
    'Timeout acquiring a connection',
    'Unable to acquire a connection',
    'Transaction query already complete',
    'connect ECONNREFUSED',
  ].join('|'),
  'i',
);

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 4) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || PG_UNAVAILABLE.test(code))) return true;
  if (error.name === 'KnexTimeoutError' || error.name === 'ConnectionException') return true;
  if (MESSAGES.test(error.message)) return true;
  return isDatabaseUnavailable((error as { cause?: unknown }).cause, depth + 1);
}
