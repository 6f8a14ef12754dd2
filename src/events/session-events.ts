import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { HeartbeatInput, StoreDecision, StoredSession } from '../sessions/session-store';
import { EventQueues } from './event-queues';
import { DropReason, EventsMetrics } from './events-metrics';
import {
  decisionEvents,
  SessionEvent,
  SessionEventFields,
  sessionEvent,
  terminationEvents,
} from './session-event';

/** The first event of a quiet period waits this long, so that a burst goes out as one batch. */
const FLUSH_DELAY_MS = 50;
/** Events per Queue.addBulk call (each becomes one job per webhook URL). */
const BATCH_SIZE = 500;
/** Longest wait for one addBulk; past it the batch counts as dropped (queue_unavailable). */
const PUBLISH_TIMEOUT_MS = 5000;

/** The delivery id of (event, url): the job id, stable across retries (X-Usher-Delivery). */
export function deliveryId(eventId: string, url: string): string {
  return `${eventId}.${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
}

/**
 * The session event publisher. Callers hand events over and never wait: events go into a bounded
 * in-memory buffer that a background flush adds to the BullMQ queue in batches. A full buffer or
 * an unreachable queue Redis drops events and counts them (usher_events_dropped_total); nothing
 * here ever throws into, or waits inside, a heartbeat.
 */
@Injectable()
export class SessionEvents {
  private readonly logger = new Logger('Events');
  private readonly urls: string[];
  private readonly capacity: number;
  private buffer: SessionEvent[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private closed = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly queues: EventQueues,
    private readonly metrics: EventsMetrics,
  ) {
    this.urls = config.webhookUrls;
    this.capacity = config.eventBufferSize;
    metrics.setBufferDepthSource(() => this.buffer.length);
    queues.beforeClose(() => this.drain());
  }

  /**
   * Publishes one event (it gets its id and time here). Never throws, never waits.
   * Without USHER_WEBHOOK_URLS there is nobody to deliver to and events are not queued.
   */
  publish(event: SessionEventFields): void {
    if (!this.urls.length) return;
    if (this.closed) return this.drop([event], 'shutdown');
    if (this.buffer.length >= this.capacity) return this.drop([event], 'buffer_full');
    this.buffer.push(sessionEvent(event));
    this.schedule();
  }

  /** The events of one heartbeat decision (see decisionEvents). */
  decided(input: HeartbeatInput, decision: StoreDecision): void {
    if (!this.urls.length) return;
    try {
      for (const event of decisionEvents(input, decision)) this.publish(event);
    } catch (err) {
      this.logger.error(`cannot build the events of a decision: ${(err as Error).message}`);
    }
  }

  /**
   * session.terminated for every session an admin ended (SessionStore.terminate's result).
   * Pass the user's counts after the termination if known; otherwise they are null.
   */
  terminated(
    userId: string,
    ended: { plan: string; sessions: StoredSession[] },
    counts?: { activeStreams: number; maxStreams: number },
  ): void {
    for (const event of terminationEvents(userId, ended, counts)) this.publish(event);
  }

  private schedule(): void {
    if (this.timer || this.flushing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.buffer.length && !this.closed) this.schedule();
      });
    }, FLUSH_DELAY_MS);
  }

  private async flush(): Promise<void> {
    while (this.buffer.length) {
      const batch =
        this.buffer.length <= BATCH_SIZE ? this.buffer : this.buffer.slice(0, BATCH_SIZE);
      this.buffer = batch === this.buffer ? [] : this.buffer.slice(BATCH_SIZE);
      await this.send(batch);
    }
  }

  private async send(batch: SessionEvent[]): Promise<void> {
    if (!this.queues.producerReady) return this.drop(batch, 'queue_unavailable');
    const jobs = batch.flatMap((event) =>
      this.urls.map((url) => ({
        name: event.type,
        data: { event, url },
        opts: { jobId: deliveryId(event.id, url) },
      })),
    );
    const end = this.metrics.publishDuration.startTimer();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queues.webhooks.addBulk(jobs),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('addBulk timed out')), PUBLISH_TIMEOUT_MS);
        }),
      ]);
      for (const event of batch) this.metrics.published.inc({ type: event.type });
    } catch {
      // EventQueues logs the queue Redis going away; here only count what was lost.
      this.drop(batch, 'queue_unavailable');
    } finally {
      clearTimeout(timer);
      end();
    }
  }

  /** Last flush before the queues close; anything published afterwards counts as shutdown. */
  private async drain(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush();
  }

  private drop(events: unknown[], reason: DropReason): void {
    this.metrics.dropped.inc({ reason }, events.length);
  }
}
