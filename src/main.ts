import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { AppConfig } from './config/app-config';
import { ConfigError, loadConfig } from './config/load-config';
import { findOrStartLocalRedis, LocalRedis, NoLocalRedisError } from './redis/local-redis';

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`usher: ${err.message}\n`);
    process.exit(1);
  }
  const logger = new Logger('Main');
  let localRedis: LocalRedis | undefined;
  if (config.redis.mode === 'local') {
    const found = await findOrStartLocalRedis();
    localRedis = found;
    config = { ...config, redis: { mode: 'single', url: found.url } };
    config.warnings.push(
      found.started
        ? `REDIS_URL is unset: started a private redis-server at ${found.url} (stopped with usher)`
        : `REDIS_URL is unset: using the local Redis at ${found.url}`,
    );
  }
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  // USHER_ROLE=worker: the same process without the heartbeat and admin APIs (AppModule); it
  // still listens for /health and /metrics, and runs the event workers and periodic jobs.
  logger.log(
    `usher listening on ${config.host}:${config.port} (role ${config.role}, fail mode ${config.failMode})`,
  );

  // Stop accepting, let in-flight requests finish, then close Redis (Nest's shutdown order).
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: draining in-flight requests`);
    setTimeout(() => process.exit(1), config.shutdownGraceMs).unref();
    await app.close();
    await localRedis?.stop();
    process.exit(0);
  };
  process.once('SIGTERM', (s) => void shutdown(s));
  process.once('SIGINT', (s) => void shutdown(s));
}

bootstrap().catch((err: unknown) => {
  const detail =
    err instanceof NoLocalRedisError ? err.message : ((err as Error)?.stack ?? String(err));
  process.stderr.write(`usher: failed to start: ${detail}\n`);
  process.exit(1);
});
