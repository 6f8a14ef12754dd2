import { setImmediate } from 'node:timers';
import type { Writable } from 'node:stream';
import Redis, { Cluster } from 'ioredis';
import type { RedisClient } from './redis-connection';

/**
 * Commands per write at most. Past it a batch leaves at once, so that Redis works on it while
 * this process parses the next requests (they share two cores): unbounded, a backlog of N
 * heartbeats would keep the first one's command back for the parsing of all N.
 */
export const MAX_BATCH = 8;

/**
 * Gathers the commands a client writes in one event-loop turn into few socket writes.
 *
 * The heartbeats that arrive together (one poll phase of the event loop) each write one EVALSHA.
 * Written one by one, each costs a write syscall here, a read and a wake-up in Redis and a reply
 * write there. Corked until the loop's check phase (setImmediate, right after the poll phase that
 * parsed them), or until MAX_BATCH of them are held, they leave as one writev, Redis reads them at
 * once and answers them in one write. Alone on the loop, a command waits only for the end of the
 * current turn (microseconds); under a backlog, batches form by themselves, and so each heartbeat
 * costs less exactly when the process is busiest. Unlike ioredis auto-pipelining, no Pipeline
 * object is built per batch (docs/performance.md: those batches outlived the young generation).
 */
export class WriteCoalescer {
  private corked: Writable[] = [];
  private held = 0;
  private flushScheduled = false;
  private readonly flushAtTurnEnd = () => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(
    private readonly client: RedisClient,
    private readonly maxBatch = MAX_BATCH,
  ) {}

  /** Call before writing a command: it leaves with the others of this turn. */
  hold(): void {
    if (this.corked.length) {
      if (this.held++ < this.maxBatch) return;
      this.flush(); // a full batch goes now; this command starts the next one
    }
    for (const node of nodesOf(this.client)) {
      // A connecting or broken node fails its command by itself (no offline queue): leave it be.
      if (node.status !== 'ready' || !node.stream?.writable) continue;
      node.stream.cork();
      this.corked.push(node.stream);
    }
    if (!this.corked.length) return;
    this.held = 1;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushAtTurnEnd);
    }
  }

  private flush(): void {
    const streams = this.corked;
    this.corked = [];
    this.held = 0;
    for (const stream of streams) stream.uncork();
  }
}

/** The connections a client writes on: itself, or every master of a cluster. */
function nodesOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}
