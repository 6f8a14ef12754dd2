import { Global, Module } from '@nestjs/common';
import { EventQueues } from './event-queues';
import { EventsMetrics } from './events-metrics';
import { PeriodicJobs } from './periodic-jobs';
import { SessionEvents } from './session-events';
import { WebhookDeliveries } from './webhook-deliveries';

/**
 * Session events (publisher → BullMQ → signed webhooks) and cluster-wide periodic jobs. Global
 * so that the heartbeat and admin services can hand events over (SessionEvents) without
 * importing anything else.
 */
@Global()
@Module({
  providers: [EventQueues, EventsMetrics, SessionEvents, WebhookDeliveries, PeriodicJobs],
  exports: [SessionEvents, PeriodicJobs],
})
export class EventsModule {}
