import { Global, Module } from '@nestjs/common';
import { PlansModule } from '../plans/plans.module';
import { ActiveSlots } from './active-slots';
import { SlotSightings } from './slot-sightings';

/**
 * usher_active_slots{plan} (docs/metrics.md): the heartbeat records sightings into per-plan
 * HyperLogLogs (SlotSightings), and a cluster-wide periodic job counts them into one snapshot
 * that every instance copies into its gauge (ActiveSlots). It sits above metrics/, plans/ and
 * events/ (it uses the plan registry and the periodic jobs), so it is its own module rather
 * than part of metrics/, which plans/ and sessions/ import.
 */
@Global()
@Module({
  imports: [PlansModule],
  providers: [SlotSightings, ActiveSlots],
  exports: [SlotSightings],
})
export class ActiveSlotsModule {}
