import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { PlanRegistry } from '../plans/plan-registry';
import { PlansModule } from '../plans/plans.module';
import { RedisConnections } from '../redis/redis-connections';
import { HEARTBEAT_STORE } from './heartbeat-store';
import { SessionStore, SessionStoreOptions } from './session-store';

/** The store's settings from the app's configuration. */
export function sessionStoreOptions(config: AppConfig): SessionStoreOptions {
  return {
    keyPrefix: config.keyPrefix,
    storeTimeoutMs: config.storeTimeoutMs,
    bounds: {
      maxEntriesPerUser: config.maxEntriesPerUser,
      maxSessionsPerDevice: config.maxSessionsPerDevice,
    },
    maxInFlight: config.maxInFlight,
  };
}

/**
 * The session store, built on the app's Redis connections, and the same store as the heartbeat
 * path sees it (HEARTBEAT_STORE).
 */
@Module({
  imports: [PlansModule],
  providers: [
    {
      provide: SessionStore,
      useFactory: (
        redis: RedisConnections,
        config: AppConfig,
        plans: PlanRegistry,
        metrics: MetricsService,
      ) => new SessionStore(redis, sessionStoreOptions(config), plans, metrics),
      inject: [RedisConnections, APP_CONFIG, PlanRegistry, MetricsService],
    },
    { provide: HEARTBEAT_STORE, useExisting: SessionStore },
  ],
  exports: [SessionStore, HEARTBEAT_STORE],
})
export class SessionsModule {}
