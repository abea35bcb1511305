/** A service logger whose lines the test can read: each JSON line as it was written. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../server/logger.js';

export interface CapturedLog {
  log: Logger;
  /** The lines written so far, parsed. */
  lines(): Array<Record<string, any>>;
  /** The lines written so far, as written. */
  text(): string;
}

export function captureLog(level: string): CapturedLog {
  const written: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return {
    log: createLogger(level, { destination: sink }),
    lines: () => written.map((line) => JSON.parse(line) as Record<string, any>),
    text: () => written.join('\n'),
  };
}
