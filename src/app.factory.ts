import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { documentHeartbeatRoute } from './heartbeat/heartbeat.openapi';
import { documentLicenseRoute } from './proxy/proxy.openapi';

/** Bodies over 16 KiB are refused with 413 before anything else reads them. */
export const BODY_LIMIT_BYTES = 16 * 1024;

const LOG_LEVELS: Record<AppConfig['logLevel'], LogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  log: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
};

/**
 * At shutdown, connections busy with a request stay open as keep-alive after their response and
 * would hold the process until the deadline. Once closing starts, every response says
 * `Connection: close`, so each connection ends right after its in-flight request is answered.
 */
function drainOnClose(fastify: FastifyInstance): void {
  let draining = false;
  fastify.addHook('preClose', (done) => {
    draining = true;
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });
}

/** Builds the whole app (not listening): main.ts and the e2e tests share it. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const logger = new ConsoleLogger({ json: true, logLevels: LOG_LEVELS[config.logLevel] });
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // The license server sends JSON; keep-alive connections are closed when idle at shutdown.
    forceCloseConnections: 'idle',
    // Admin paths carry userIds (128) and sessionIds (256 chars), percent-encoded up to 3x;
    // Fastify's default of 100 would answer 414 for valid ids.
    routerOptions: { maxParamLength: 1024 },
    // usher has no Nest middleware: without @fastify/middie no request runs its onRequest hook.
    skipMiddie: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger,
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Fastify parses application/json itself; anything else, text/plain included, is a 415.
  fastify.removeContentTypeParser('text/plain');
  drainOnClose(fastify);
  for (const warning of config.warnings) logger.warn(warning, 'Config');

  const heartbeatApi = config.role !== 'worker';
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('usher')
      .setDescription(
        'Concurrent-stream limiting for DRM license servers. License servers call POST /v1/heartbeats on every license message; product teams use the admin API.',
      )
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  if (heartbeatApi) {
    documentHeartbeatRoute(document);
    documentLicenseRoute(document);
  }
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}
