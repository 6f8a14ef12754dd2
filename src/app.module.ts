import { DynamicModule, Module, Type } from '@nestjs/common';
import { ActiveSlotsModule } from './active-slots/active-slots.module';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { ConsoleModule } from './console/console.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { HeartbeatModule } from './heartbeat/heartbeat.module';
import { MetricsModule } from './metrics/metrics.module';
import { ProxyModule } from './proxy/proxy.module';
import { RedisModule } from './redis/redis.module';
import { StatsModule } from './stats/stats.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    // USHER_ROLE=worker serves only operations (health, metrics) next to the event workers.
    const httpApi: Type[] =
      config.role === 'worker' ? [] : [HeartbeatModule, AdminModule, StatsModule, ProxyModule];
    // The console talks to the admin API, so it is served only where that API is.
    if (config.role !== 'worker' && config.console) httpApi.push(ConsoleModule);
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        RedisModule,
        MetricsModule,
        AuthModule,
        ...httpApi,
        HealthModule,
        EventsModule,
        ActiveSlotsModule,
      ],
    };
  }
}
