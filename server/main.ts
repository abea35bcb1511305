/**
 * `npm start`: validate the configuration, assemble the app, listen, and on SIGTERM/SIGINT shut
 * down gracefully, exiting within 10 s whatever happens.
 */
import { createApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { serve } from './lifecycle.js';
import { createLogger } from './logger.js';

const HARD_EXIT_MS = 10_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const log = createLogger(config.logLevel);
  const app = await createApp(config, { log });
  const serving = await serve(app, { port: config.port, host: config.host });
  log.info({ url: config.baseUrl, port: serving.port, rateLimits: app.services.limiter.backend }, 'listening');

  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down: draining in-flight requests');
    setTimeout(() => {
      log.error('shutdown took over 10 s; exiting');
      process.exit(1);
    }, HARD_EXIT_MS).unref();
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
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`Failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
