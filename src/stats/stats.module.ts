import { Module } from '@nestjs/common';
import { PlansModule } from '../plans/plans.module';
import { DecisionRecorder } from './decision-recorder';
import { StatsController } from './stats.controller';
import { StatsService } from './stats.service';

/**
 * GET /v1/stats (admin): the console overview's data, cluster-wide, from per-bucket counts in
 * Redis that each instance's DecisionRecorder adds every few seconds.
 */
@Module({
  imports: [PlansModule],
  controllers: [StatsController],
  providers: [DecisionRecorder, StatsService],
})
export class StatsModule {}
