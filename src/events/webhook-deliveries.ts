import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DeliveryJob, EventQueues, WEBHOOK_QUEUE } from './event-queues';
import { EventsMetrics } from './events-metrics';
import { signatureHeader } from './webhook-signature';

/** Deliveries in flight per worker process. */
const WEBHOOK_CONCURRENCY = 16;

/**
 * The webhook worker (USHER_ROLE all or worker): POSTs each (event, url) job, signed, and lets
 * BullMQ retry it with exponential backoff when the receiver does not answer 2xx in time.
 */
@Injectable()
export class WebhookDeliveries implements OnApplicationBootstrap {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queues: EventQueues,
    private readonly metrics: EventsMetrics,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.queues.runsWorkers) return;
    this.queues.startWorker<DeliveryJob>(
      WEBHOOK_QUEUE,
      (job) => this.deliver(job),
      WEBHOOK_CONCURRENCY,
    );
  }

  async deliver(job: Job<DeliveryJob>): Promise<void> {
    const { event, url } = job.data;
    const body = JSON.stringify(event);
    const timestamp = Math.floor(Date.now() / 1000);
    const end = this.metrics.deliveryDuration.startTimer();
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'usher-webhooks/1',
          'x-usher-signature': signatureHeader(this.config.webhookSecret, timestamp, body),
          'x-usher-event': event.id,
          'x-usher-event-type': event.type,
          'x-usher-delivery': String(job.id),
          'x-usher-attempt': String(job.attemptsMade + 1),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.webhookTimeoutMs),
      });
      // Read the (ignored) answer so that the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
      if (response.status < 200 || response.status > 299) {
        throw new Error(`${url} answered ${response.status}`);
      }
      this.metrics.deliveries.inc({ outcome: 'delivered' });
    } catch (err) {
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      this.metrics.deliveries.inc({ outcome: last ? 'failed' : 'retried' });
      throw err;
    } finally {
      end();
    }
  }
}
