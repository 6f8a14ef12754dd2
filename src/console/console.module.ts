import { Logger, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { CONSOLE_SECURITY_HEADERS, ConsoleController } from './console.controller';
import { CONSOLE_ASSETS } from './console.tokens';
import { consoleAssetsDir, loadConsoleAssets } from './console-assets';

/**
 * The admin console at /console: static files built into dist/ (scripts/build-console.mjs),
 * served with strict security headers. Off with USHER_CONSOLE=false (AppModule leaves it out).
 */
@Module({
  controllers: [ConsoleController],
  providers: [
    {
      provide: CONSOLE_ASSETS,
      useFactory: () => {
        const dir = consoleAssetsDir();
        const assets = loadConsoleAssets(dir);
        if (!assets.has('index.html')) {
          new Logger('Console').warn(`no console in ${dir}: run npm run build`);
        }
        return assets;
      },
    },
  ],
})
export class ConsoleModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** /console/ (a typed trailing slash) is the same page: Fastify tells the two paths apart. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.get('/console/', (_request, reply) =>
      reply.headers(CONSOLE_SECURITY_HEADERS).redirect('/console', 308),
    );
  }
}
