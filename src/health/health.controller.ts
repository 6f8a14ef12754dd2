import { BeforeApplicationShutdown, Controller, Get, Inject, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/roles';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { RedisConnections } from '../redis/redis-connections';

export interface Readiness {
  status: 'ready' | 'not_ready';
  failMode: AppConfig['failMode'];
  store: 'up' | 'down';
  shuttingDown: boolean;
}

@ApiTags('operations')
@Controller('health')
export class HealthController implements BeforeApplicationShutdown {
  private shuttingDown = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly redis: RedisConnections,
  ) {}

  @Public()
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Readiness = can answer heartbeats as configured. Fail-open stays ready through a store outage
   * (every pod leaving the Service would turn a Redis outage into a full one); fail-closed is not.
   */
  @Public()
  @Get('ready')
  @ApiOperation({ summary: 'Readiness (see README: depends on USHER_FAIL_MODE)' })
  @ApiOkResponse({ description: 'Ready; the body reports the store state' })
  @ApiServiceUnavailableResponse({
    description: 'Not ready (closed mode with the store down, or shutting down)',
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<Readiness> {
    const store = await this.storeState();
    const ready = !this.shuttingDown && (store === 'up' || this.config.failMode === 'open');
    reply.status(ready ? 200 : 503);
    return {
      status: ready ? 'ready' : 'not_ready',
      failMode: this.config.failMode,
      store,
      shuttingDown: this.shuttingDown,
    };
  }

  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  private async storeState(): Promise<'up' | 'down'> {
    return (await this.redis.storeAnswers()) ? 'up' : 'down';
  }
}
