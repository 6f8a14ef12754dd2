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
 * Gathers the commands a client writes while Redis is busy with earlier ones into few socket
 * writes (Nagle's algorithm for the Redis connection).
 *
 * The heartbeats that arrive together (one poll phase of the event loop) each write one EVALSHA.
 * Written one by one, each costs a write syscall here, a read and a wake-up in Redis and a reply
 * write there. A command that finds nothing in flight goes at once: Redis is idle, so any wait
 * would be pure latency (measured: +0.3 ms p50 at 3,000/s when every command waited). One that
 * finds commands in flight would queue behind them in Redis anyway: it is corked until the loop's
 * check phase (setImmediate, right after the poll phase that parsed it) or until MAX_BATCH are
 * held, and they leave as one writev that Redis reads at once and answers in one write. Under a
 * backlog, batches form by themselves, and so each heartbeat costs less exactly when the process
 * is busiest. Unlike ioredis auto-pipelining, no Pipeline object is built per batch
 * (docs/performance.md: those batches outlived the young generation).
 */
export class WriteCoalescer {
  private corked: Writable[] = [];
  private held = 0;
  private flushScheduled = false;
  private readonly flushAtTurnEnd = () => {
    this.flushScheduled = false;
    this.flush();
  };
  /**
   * The connections the client writes on: itself, or every master of a cluster (asked each time,
   * as the topology changes). A single node's list is built once, not once per heartbeat.
   */
  private readonly nodes: () => Redis[];

  constructor(
    client: RedisClient,
    private readonly maxBatch = MAX_BATCH,
  ) {
    if (client instanceof Cluster) {
      this.nodes = () => client.nodes('master');
    } else {
      const single = [client];
      this.nodes = () => single;
    }
  }

  /**
   * Writes one command through the coalescer: `write` must issue exactly one command on the
   * client this coalescer was built for, synchronously (as an ioredis call does). It leaves at
   * once or with the others of this turn. The only way in, so no write can skip the hold.
   */
  send<T>(write: () => T): T {
    this.hold();
    return write();
  }

  private hold(): void {
    if (this.held >= this.maxBatch) this.flush(); // a full batch goes now
    for (const node of this.nodes()) {
      const stream = node.stream;
      // Redis idle on this connection (nothing in flight): the command goes at once, with no
      // wait for the turn to end (Nagle's rule). A connecting or broken node fails its command
      // by itself (no offline queue): leave it be.
      if (node.status !== 'ready' || !stream?.writable || stream.writableCorked) continue;
      if (node.commandQueue.length === 0) continue;
      stream.cork();
      this.corked.push(stream);
    }
    if (!this.corked.length) return;
    this.held++;
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
