import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS, MetricsService } from '../metrics/metrics.service';

/** Seconds; a webhook round trip, from a fast local receiver to the delivery timeout. */
export const DELIVERY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type DropReason = 'buffer_full' | 'queue_unavailable' | 'shutdown';
export type DeliveryOutcome = 'delivered' | 'retried' | 'failed';

/** The events module's metrics, on usher's registry (MetricsService), never the global one. */
@Injectable()
export class EventsMetrics {
  private bufferDepth: () => number = () => 0;

  readonly published: Counter<'type'>;
  readonly dropped: Counter<'reason'>;
  readonly buffered: Gauge;
  readonly publishDuration: Histogram;
  readonly deliveries: Counter<'outcome'>;
  readonly deliveryDuration: Histogram;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.published = new Counter({
      name: 'usher_events_published_total',
      help: 'Session events handed to the BullMQ queue, by type',
      labelNames: ['type'] as const,
      registers,
    });
    this.dropped = new Counter({
      name: 'usher_events_dropped_total',
      help: 'Session events dropped before reaching the queue (buffer_full, queue_unavailable, shutdown)',
      labelNames: ['reason'] as const,
      registers,
    });
    const depth = () => this.bufferDepth();
    this.buffered = new Gauge({
      name: 'usher_events_buffered',
      help: 'Session events waiting in this instance’s in-memory buffer for the queue',
      registers,
      collect() {
        this.set(depth());
      },
    });
    this.publishDuration = new Histogram({
      name: 'usher_events_publish_duration_seconds',
      help: 'Time to add one batch of events to the queue (Queue.addBulk)',
      buckets: [...LATENCY_BUCKETS_SECONDS, 2.5, 5],
      registers,
    });
    this.deliveries = new Counter({
      name: 'usher_webhook_deliveries_total',
      help: 'Webhook delivery attempts: delivered, retried (will try again), failed (gave up)',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.deliveryDuration = new Histogram({
      name: 'usher_webhook_delivery_duration_seconds',
      help: 'Time of one webhook POST, successful or not',
      buckets: DELIVERY_BUCKETS_SECONDS,
      registers,
    });
  }

  /** The publisher tells the gauge where its buffer is; read at scrape time. */
  setBufferDepthSource(source: () => number): void {
    this.bufferDepth = source;
  }
}
