import { Global, Module } from '@nestjs/common';
import { PlansModule } from '../plans/plans.module';
import { ActiveSlots } from './active-slots';
import { EventQueues } from './event-queues';
import { EventsMetrics } from './events-metrics';
import { PeriodicJobs } from './periodic-jobs';
import { SessionEvents } from './session-events';
import { SlotSightings } from './slot-sightings';
import { WebhookDeliveries } from './webhook-deliveries';

/**
 * Session events (publisher → BullMQ → signed webhooks), cluster-wide periodic jobs, and the
 * usher_active_slots computation built on them. Global so that the heartbeat and admin services
 * can hand events over (SessionEvents) without importing anything else.
 */
@Global()
@Module({
  imports: [PlansModule],
  providers: [
    EventQueues,
    EventsMetrics,
    SessionEvents,
    WebhookDeliveries,
    PeriodicJobs,
    SlotSightings,
    ActiveSlots,
  ],
  exports: [SessionEvents, SlotSightings],
})
export class EventsModule {}
