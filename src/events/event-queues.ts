import { EventEmitter } from 'node:events';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Job, Queue, Worker } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { closeRedisClient, RedisClient } from '../redis/redis-connection';
import { createQueueClient, queuePrefix, queueTarget } from './queue-connection';
import { SessionEvent } from './session-event';

/** One job per (event, webhook URL): a failing receiver never makes another one get it twice. */
export const WEBHOOK_QUEUE = 'webhooks';
/** Cluster-wide periodic jobs (BullMQ job schedulers: one instance runs each tick). */
export const JOBS_QUEUE = 'jobs';

export interface DeliveryJob {
  event: SessionEvent;
  url: string;
}

/** Completed deliveries are kept briefly; failed ones longer, for inspection (docs/events.md). */
const KEEP_COMPLETED = { age: 3600, count: 1000 };
const KEEP_FAILED = { age: 7 * 24 * 3600, count: 10_000 };
/**
 * BullMQ wraps our shared clients in connection objects whose start-up (a version check) may
 * still be pending at shutdown. Closing the client then fails it, and the wrapper re-emits that
 * failure after its close() removed every listener: an unhandled 'error' that would crash the
 * process on its way out. A listener added after close() absorbs it.
 */
function ignoreLateStartupErrors(owner: Queue | Worker): void {
  const internals = owner as unknown as Record<
    'connection' | 'blockingConnection',
    EventEmitter | undefined
  >;
  internals.connection?.on('error', () => undefined);
  internals.blockingConnection?.on('error', () => undefined);
}

/** At shutdown, in-flight deliveries get this long before their workers are closed by force. */
const WORKER_CLOSE_DEADLINE_MS = 10_000;

/**
 * Owns everything BullMQ: the queue connections (producer without offline queue; a worker
 * connection only when this instance runs workers), the queues, and every worker, and closes
 * them in order at shutdown: publisher drains first, then workers, queues, connections.
 */
@Injectable()
export class EventQueues implements OnApplicationShutdown {
  private readonly logger = new Logger('Events');
  /** USHER_ROLE all or worker: this instance processes webhook deliveries and periodic jobs. */
  readonly runsWorkers: boolean;
  readonly prefix: string;
  readonly producer: RedisClient;
  readonly webhooks: Queue<DeliveryJob>;
  readonly jobs: Queue;
  private workerClient?: RedisClient;
  private readonly workers: Worker[] = [];
  private readonly drains: Array<() => Promise<void>> = [];
  private queueDown = false;
  private closing = false;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.runsWorkers = config.role !== 'api';
    this.prefix = queuePrefix(config.keyPrefix);
    this.producer = this.watch(createQueueClient(queueTarget(config), 'producer'));
    if (this.runsWorkers) {
      this.workerClient = this.watch(createQueueClient(queueTarget(config), 'worker'));
    }
    // No waiting for the first connect and no INFO version probe: with the queue's Redis down
    // from the start, an add must fail at once like any other, not wait for a connection.
    const producerOptions = {
      connection: this.producer,
      prefix: this.prefix,
      skipWaitingForReady: true,
      skipVersionCheck: true,
    };
    this.webhooks = new Queue<DeliveryJob>(WEBHOOK_QUEUE, {
      ...producerOptions,
      defaultJobOptions: {
        attempts: config.webhookAttempts,
        backoff: { type: 'exponential', delay: config.webhookBackoffMs },
        removeOnComplete: KEEP_COMPLETED,
        removeOnFail: KEEP_FAILED,
      },
    });
    this.jobs = new Queue(JOBS_QUEUE, producerOptions);
    for (const queue of [this.webhooks, this.jobs]) queue.on('error', (err) => this.failed(err));
  }

  /** The producer can take jobs now (no offline queue: otherwise an add fails at once). */
  get producerReady(): boolean {
    return this.producer.status === 'ready';
  }

  /** Starts a worker on one of the queues; it is closed with the app. */
  startWorker<T>(
    queue: string,
    processor: (job: Job<T>) => Promise<void>,
    concurrency: number,
  ): Worker<T> {
    if (!this.workerClient) throw new Error(`no workers on this instance (USHER_ROLE=api)`);
    const worker = new Worker<T>(queue, processor, {
      connection: this.workerClient,
      prefix: this.prefix,
      concurrency,
    });
    worker.on('error', (err) => this.failed(err));
    this.workers.push(worker as Worker);
    return worker;
  }

  /** Work to finish before the queues close (the publisher's last flush). */
  beforeClose(drain: () => Promise<void>): void {
    this.drains.push(drain);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await Promise.allSettled(this.drains.map((drain) => drain()));
    await Promise.allSettled(this.workers.map((worker) => this.closeWorker(worker)));
    await Promise.allSettled([this.webhooks.close(), this.jobs.close()]);
    for (const owner of [this.webhooks, this.jobs, ...this.workers]) ignoreLateStartupErrors(owner);
    for (const client of [this.producer, this.workerClient]) {
      if (client) await closeRedisClient(client);
    }
  }

  /** Lets in-flight deliveries finish while the queue's Redis answers; never hangs on a dead one. */
  private async closeWorker(worker: Worker): Promise<void> {
    const force = this.workerClient?.status !== 'ready';
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), WORKER_CLOSE_DEADLINE_MS);
    });
    try {
      if ((await Promise.race([worker.close(force), deadline])) === 'late') {
        this.logger.warn(`worker on ${worker.name} did not close in time; disconnecting`);
        await worker.disconnect();
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Logs the queue's Redis going away once, not at every reconnect attempt. */
  private watch(client: RedisClient): RedisClient {
    client.on('error', (err: Error) => this.failed(err));
    client.on('ready', () => {
      if (this.queueDown) this.logger.log('queue Redis answering again');
      this.queueDown = false;
    });
    return client;
  }

  private failed(err: Error): void {
    if (this.queueDown || this.closing) return;
    this.queueDown = true;
    this.logger.warn(`queue Redis failing (${err.message}); events are dropped meanwhile`);
  }
}
