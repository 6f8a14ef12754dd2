import { setImmediate } from 'node:timers';
import type { Writable } from 'node:stream';
import Redis, { Cluster } from 'ioredis';
import type { RedisClient } from './redis-connection';

/**
 * Gathers every command a client writes in one event-loop turn into one socket write.
 *
 * The heartbeats that arrive together (one poll phase of the event loop) each write one EVALSHA.
 * Written one by one, each costs a write syscall here, a read and a wake-up in Redis and a reply
 * write there. Corked until the loop's check phase (setImmediate, right after the poll phase that
 * parsed them), they leave as one writev, Redis reads them at once and answers them in one write.
 * Alone on the loop, a command waits only for the end of the current turn (microseconds); under a
 * backlog, the batches grow by themselves, and so each heartbeat costs less exactly when the
 * process is busiest. Unlike ioredis auto-pipelining, no Pipeline object is built per batch
 * (docs/performance.md: those batches outlived the young generation).
 */
export class WriteCoalescer {
  private corked: Writable[] = [];
  private readonly flush = () => {
    const streams = this.corked;
    this.corked = [];
    for (const stream of streams) stream.uncork();
  };

  constructor(private readonly client: RedisClient) {}

  /** Call before writing a command: writes of this turn go out together once it ends. */
  hold(): void {
    if (this.corked.length) return;
    for (const node of nodesOf(this.client)) {
      // A connecting or broken node fails its command by itself (no offline queue): leave it be.
      if (node.status !== 'ready' || !node.stream?.writable) continue;
      node.stream.cork();
      this.corked.push(node.stream);
    }
    if (this.corked.length) setImmediate(this.flush);
  }
}

/** The connections a client writes on: itself, or every master of a cluster. */
function nodesOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}
