/**
 * Assembles the process: database (embedded when DATABASE_URL is unset), Redis or in-memory
 * limits, the services, and the request listener (server/http.ts): the REST and tRPC adapters on
 * Node's own requests, Express for the OpenID provider and the pages.
 */
import path from 'node:path';
import type { AnyRouter } from '@trpc/server';
import express, { type ErrorRequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { createRateLimiter } from '../adapters/ratelimit/index.js';
import { createRestAdapter } from '../adapters/rest/index.js';
import { pathForLog, restRoutes } from '../adapters/rest/routes.js';
import { errorEnvelope, sendApiError, sendEnvelope } from '../adapters/rest/envelope.js';
import { answersInProtocolForm, mountOAuth, sendProtocolFailure } from '../adapters/oauth/index.js';
import { mailLinkPages } from '../adapters/pages/mail-links.js';
import { loadSigningKeys } from '../adapters/oauth/keys.js';
import { apiAudience, createProvider, issuerOf } from '../adapters/oauth/provider.js';
import { createTrpcAdapter } from '../adapters/trpc/index.js';
import { appRouter } from '../procedures/index.js';
import type { Config } from './config.js';
import type { Services } from './context.js';
import { openDatabase } from './database.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres.js';
import { createHealthCheck } from './health.js';
import { createLogger, type Logger } from './logger.js';
import { createMailer } from './mail.js';
import { createCredentialCache } from './auth/credential-cache.js';
import { connectRedis, createRedis } from './redis.js';
import { createAccessTokenVerifier } from './auth/bearer.js';
import { createEncrypter, loadEncryptionKey } from './secrets.js';
import { createStripe } from './stripe.js';
import { ApiError, toApiError } from './errors.js';
import { requestListener, type RequestListener } from './http.js';
import { startPartitionJob } from './event-partitions.js';
import { startRollupJob } from './event-rollups.js';

export interface AppOptions {
  /** Another router to serve (tests add procedures this way); defaults to appRouter. */
  router?: AnyRouter;
  log?: Logger;
  now?: () => Date;
}

export interface App {
  /** Answers every request (give it to http.createServer). */
  listener: RequestListener;
  services: Services;
  /** Closes the database, Redis and the embedded PostgreSQL, if any. */
  close(): Promise<void>;
}

/**
 * Express's final error handler: whatever reached next(error) in the provider's endpoints and pages or
 * the mail-link pages goes through toApiError, and is answered in the protocol's form under the
 * provider's paths, in the envelope elsewhere; never Express's own HTML page. Express's own client
 * errors (an unreadable form, a malformed parameter) are the client's: 400.
 */
export function answerExpressError(log: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    // body-parser's and the router's errors carry the status Express would have answered with.
    const status = (error as { status?: unknown } | null)?.status;
    const apiError =
      !(error instanceof ApiError) && typeof status === 'number' && status >= 400 && status < 500
        ? new ApiError('BAD_REQUEST', 'The request could not be read', {}, { cause: error, refusal: true })
        : toApiError(error);
    if (apiError.apiCode === 'INTERNAL_ERROR')
      (req.log ?? log).error({ err: apiError.cause ?? error, reqId: req.id }, 'unhandled error');
    if (answersInProtocolForm(req)) return sendProtocolFailure(req, res, apiError);
    sendApiError(res, apiError, String(req.id));
  };
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres({
      dir: path.join(config.dataDir, 'postgres'),
      port: config.embeddedPostgresPort,
      log,
    });
    databaseUrl = embedded.url;
  }
  const orm = await openDatabase(databaseUrl, log).catch(async (error: unknown) => {
    await embedded?.stop();
    throw error;
  });

  let redis: Redis | undefined;
  if (config.redisUrl) {
    redis = createRedis(config.redisUrl, log);
    await connectRedis(redis, log);
  } else {
    log.info('REDIS_URL is unset: rate limits use in-memory counters (one process only)');
  }

  const encrypter = createEncrypter(loadEncryptionKey(config, log));
  const services: Services = {
    config,
    log,
    orm,
    redis,
    limiter: createRateLimiter({ budgets: config.budgets, prefix: config.rateLimitPrefix, redis }),
    health: createHealthCheck({ orm, redis, cacheMs: config.healthCacheMs }),
    credentialCache: createCredentialCache({
      redis,
      prefix: config.rateLimitPrefix,
      ttlSeconds: config.credentialCacheTtl,
      log,
    }),
    mailer: createMailer({ smtpUrl: config.smtpUrl, mailDir: config.mailDir, from: config.mailFrom, log }),
    encrypter,
    stripe: createStripe(config),
    now: options.now ?? (() => new Date()),
  };

  // Tracked events' storage: this month's partitions before the first request, then daily; rollups every minute.
  const jobs = [await startPartitionJob(services), startRollupJob(services)];

  const jwks = await loadSigningKeys(orm.em.fork(), encrypter, services.now());
  services.accessTokens = createAccessTokenVerifier({ jwks, issuer: issuerOf(config), audience: apiAudience(config) });
  const provider = createProvider({
    config,
    em: orm.em.fork(),
    jwks,
    cookieKeys: [encrypter.derive('oidc-cookies')],
    now: services.now,
    credentialCache: services.credentialCache,
  });

  const router = options.router ?? appRouter;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  mountOAuth(app, services, provider, encrypter.derive('oauth-interaction-csrf'));
  app.use(mailLinkPages(services, encrypter.derive('mail-link-page-csrf')));
  app.use((req, res) => {
    sendEnvelope(
      res,
      errorEnvelope(404, 'NOT_FOUND', `No route ${req.method} ${req.path}`, { requestId: String(req.id) }),
    );
  });
  app.use(answerExpressError(log));

  const routes = restRoutes(router);
  const listener = requestListener(config, log, pathForLog(routes), {
    rest: createRestAdapter(services, router, routes),
    trpc: createTrpcAdapter(services, router),
    other: app,
  });

  return {
    listener,
    services,
    async close() {
      await Promise.all(jobs.map((job) => job.stop()));
      await services.mailer.idle();
      services.mailer.close();
      await orm.close(true);
      if (redis) await redis.quit().catch(() => redis?.disconnect());
      if (embedded) await embedded.stop();
    },
  };
}
