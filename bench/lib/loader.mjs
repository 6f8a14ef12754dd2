// Bulk load: sessions go into Redis through the very heartbeat script usher runs (EVALSHA,
// pipelined), so the stored shape, TTLs and memory are exactly what live traffic leaves behind.
import { populationSessions } from './workload.mjs';

const BATCH = 2_000;
const IN_FLIGHT = 4;

/**
 * Admits every session of `pop` under `prefix`. Returns { sessions, seconds, decisions }.
 * `script` is loadUsherScript(); `client` an ioredis client on the bench's Redis.
 */
export async function bulkLoad(client, script, pop, { prefix, onProgress } = {}) {
  const sha = await client.script('LOAD', script.lua);
  const decisions = {};
  const started = process.hrtime.bigint();
  const source = populationSessions(pop);
  let done = 0;
  let exhausted = false;

  const nextBatch = () => {
    if (exhausted) return null;
    const pipeline = client.pipeline();
    let n = 0;
    for (; n < BATCH; n++) {
      const item = source.next();
      if (item.done) {
        exhausted = true;
        break;
      }
      const [user, session, device, content] = item.value;
      // KEYS and ARGV exactly as SessionStore.heartbeat sends them.
      const heartbeat = {
        userId: user,
        sessionId: session,
        deviceId: device,
        contentId: content,
        drm: 'widevine',
        release: false,
      };
      pipeline.evalsha(sha, script.numberOfKeys, ...script.args(prefix, heartbeat));
    }
    return n ? pipeline : null;
  };

  const worker = async () => {
    for (let pipeline = nextBatch(); pipeline; pipeline = nextBatch()) {
      const results = await pipeline.exec();
      for (const [err, reply] of results) {
        const key = err ? `error: ${err.message}` : `${reply[0]}/${reply[1]}`;
        decisions[key] = (decisions[key] ?? 0) + 1;
      }
      done += results.length;
      onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { sessions: done, seconds, rate: done / seconds, decisions };
}
