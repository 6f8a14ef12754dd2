import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job } from 'bullmq';
import { waitUntilReady } from '../redis/redis-connection';
import { EventQueues, JOBS_QUEUE } from './event-queues';

interface PeriodicJob {
  everyMs: number;
  run: () => Promise<unknown>;
}

/** While the queue's Redis cannot take the schedulers, try again this often. */
const UPSERT_RETRY_MS = 2000;
/** A tick that failed is not retried: the next tick comes soon and does the same work. */
const JOB_OPTIONS = { attempts: 1, removeOnComplete: true, removeOnFail: 100 };

/**
 * Cluster-wide periodic work on BullMQ job schedulers: every instance upserts the schedulers
 * (idempotent), BullMQ puts one job in the queue per tick, and exactly one worker (an instance
 * with USHER_ROLE all or worker) runs it.
 */
@Injectable()
export class PeriodicJobs implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('PeriodicJobs');
  private readonly jobs = new Map<string, PeriodicJob>();
  private retry?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly queues: EventQueues) {}

  /** Call before the app bootstraps (e.g. from a constructor). */
  register(name: string, everyMs: number, run: () => Promise<unknown>): void {
    this.jobs.set(name, { everyMs, run });
  }

  onApplicationBootstrap(): void {
    void this.upsertSchedulers();
    if (this.queues.runsWorkers) {
      this.queues.startWorker(JOBS_QUEUE, (job) => this.run(job), 1);
    }
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.retry);
  }

  private async run(job: Job): Promise<void> {
    const periodic = this.jobs.get(job.name);
    if (!periodic) return; // a scheduler of a newer or older usher version: not ours to run
    await periodic.run();
  }

  /** Upserts every scheduler once the queue Redis answers; retries until it does. */
  private async upsertSchedulers(): Promise<void> {
    let warned = false;
    while (!this.stopped) {
      try {
        await waitUntilReady(this.queues.producer, UPSERT_RETRY_MS);
        for (const [name, { everyMs }] of this.jobs) {
          await this.queues.jobs.upsertJobScheduler(
            name,
            { every: everyMs },
            { name, opts: JOB_OPTIONS },
          );
        }
        return;
      } catch (err) {
        if (this.stopped) return;
        if (!warned)
          this.logger.warn(`cannot schedule periodic jobs yet: ${(err as Error).message}`);
        warned = true;
        await new Promise((resolve) => {
          this.retry = setTimeout(resolve, UPSERT_RETRY_MS);
          this.retry.unref();
        });
      }
    }
  }
}
