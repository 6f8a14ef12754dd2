import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PlansModule } from '../plans/plans.module';
import { RedisConnections } from '../redis/redis-connections';
import { DecisionRecorder } from './decision-recorder';
import { StatsController } from './stats.controller';
import { StatsService } from './stats.service';
import { StatsStore } from './stats-store';

/**
 * GET /v1/stats (admin): the console overview's data, cluster-wide, from per-bucket counts in
 * Redis that each instance's DecisionRecorder adds every few seconds.
 */
@Module({
  imports: [PlansModule],
  controllers: [StatsController],
  providers: [
    {
      provide: StatsStore,
      useFactory: (config: AppConfig, redis: RedisConnections) =>
        new StatsStore(redis.control, config.keyPrefix),
      inject: [APP_CONFIG, RedisConnections],
    },
    DecisionRecorder,
    StatsService,
  ],
})
export class StatsModule {}
