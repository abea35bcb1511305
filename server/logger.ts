import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** JSON logs on stdout. Request logs carry no headers, so credentials never reach them. */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined });
}
