import { Controller, Get, Headers, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/roles';
import { CONSOLE_ASSETS } from './console.tokens';
import { ConsoleAsset } from './console-assets';

/** On every console answer: nothing but its own files, never framed, no referrer. */
export const CONSOLE_SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** esbuild's [name]-[hash] output names. */
const HASHED_NAME = /-[A-Z0-9]{8}\.(js|css)$/;

/**
 * GET /console and its files. The page needs no token to load (it holds none); every call it
 * makes goes to the admin API with the token the user signs in with.
 */
@Public()
@ApiExcludeController()
@Controller('console')
export class ConsoleController {
  constructor(@Inject(CONSOLE_ASSETS) private readonly assets: Map<string, ConsoleAsset>) {}

  @Get()
  index(@Headers('accept-encoding') encoding: string | undefined, @Res() reply: FastifyReply) {
    this.send(reply, 'index.html', encoding);
  }

  @Get(':file')
  file(
    @Param('file') file: string,
    @Headers('accept-encoding') encoding: string | undefined,
    @Res() reply: FastifyReply,
  ) {
    this.send(reply, file || 'index.html', encoding);
  }

  private send(reply: FastifyReply, name: string, encoding: string | undefined): void {
    reply.headers(CONSOLE_SECURITY_HEADERS);
    const asset = this.assets.get(name);
    if (!asset) {
      throw new NotFoundException(
        name === 'index.html' ? 'the console is not built (npm run build)' : 'no such file',
      );
    }
    // Bundles carry a content hash in their names; anything else is checked every time.
    reply.header(
      'cache-control',
      HASHED_NAME.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache',
    );
    reply.header('etag', asset.etag);
    reply.header('vary', 'accept-encoding');
    reply.type(asset.contentType);
    if (/\bgzip\b/.test(encoding ?? '')) {
      reply.header('content-encoding', 'gzip');
      void reply.send(asset.gzip);
    } else {
      void reply.send(asset.body);
    }
  }
}
