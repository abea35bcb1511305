/**
 * JSON logs on stdout; in development on a terminal, the same lines made readable by pino-pretty.
 *
 * - Request logs carry no headers, so credentials never reach them (request-log.ts).
 * - Database errors are logged without the values their statement carried: the driver writes the
 *   statement with its parameters inlined into the message and the stack, and PostgreSQL echoes rows
 *   and keys in `detail`; values may be passwords' hashes, tokens' hashes or personal data. Quoted
 *   literals become '?', and `detail`, `where`, `parameters`, `bindings` and `sql` are dropped; the
 *   SQLSTATE, table, column and constraint stay, which is what a reader needs.
 */
import { pino, stdSerializers, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

export type Logger = PinoLogger;

const SQL_LITERAL = /'(?:[^']|'')*'/g;
/** MikroORM appends PostgreSQL's detail ("Key (email)=(…) already exists", "Failing row contains (…)") to its message. */
const DETAIL_LINE = /\n - detail: [^\n]*/g;
const VALUE_FIELDS = ['detail', 'where', 'parameters', 'bindings', 'sql'];

/** An error raised by PostgreSQL, the pg driver or MikroORM's wrappers of them. */
function isDatabaseError(error: Record<string, unknown>): boolean {
  return (
    'severity' in error ||
    'sqlState' in error ||
    (typeof error.code === 'string' && /^[0-9A-Z]{5}$/.test(error.code)) ||
    (typeof error.name === 'string' &&
      /Exception$/.test(error.name) &&
      typeof error.message === 'string' &&
      / - /.test(error.message))
  );
}

/** Whether the error, or one it wraps (tRPC copies its cause's message), came from the database. */
function fromDatabase(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  return isDatabaseError(error as unknown as Record<string, unknown>) || fromDatabase(error.cause, depth + 1);
}

type Serialized = Record<string, unknown>;

function withoutValues(serialized: Serialized): Serialized {
  const clean: Serialized = {};
  for (const [key, value] of Object.entries(serialized)) {
    if (VALUE_FIELDS.includes(key)) continue;
    if ((key === 'message' || key === 'stack') && typeof value === 'string')
      clean[key] = value.replace(DETAIL_LINE, '').replace(SQL_LITERAL, "'?'");
    else if (key === 'cause' && value && typeof value === 'object') clean[key] = withoutValues(value as Serialized);
    else clean[key] = value;
  }
  return clean;
}

/** pino's error serializer, with database errors (and errors wrapping one) stripped of their values. */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const serialized = stdSerializers.err(error) as unknown as Serialized;
  return fromDatabase(error) ? withoutValues(serialized) : serialized;
}

export interface LoggerOptions {
  /** Where lines go (default: stdout). */
  destination?: NodeJS.WritableStream;
  /** Readable lines instead of JSON: for people at a terminal, never for machines. */
  pretty?: boolean;
}

export function createLogger(level: string, { destination, pretty: readable = false }: LoggerOptions = {}): Logger {
  const options = { level, base: undefined, serializers: { err: serializeError } };
  // In the main thread (not a worker transport): development volumes only.
  if (readable)
    return pino(
      options,
      pretty({ destination: destination ?? 1, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }),
    );
  return destination ? pino(options, destination) : pino(options);
}
