import { Module } from '@nestjs/common';
import { OverrideStore } from './override-store';
import { PlanRegistry } from './plan-registry';
import { PlanStore } from './plan-store';

/** Plans (file baseline + API overlay in Redis, kept current by the change feed) and overrides. */
@Module({
  providers: [PlanStore, PlanRegistry, OverrideStore],
  exports: [PlanStore, PlanRegistry, OverrideStore],
})
export class PlansModule {}
