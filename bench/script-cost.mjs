// Time of the heartbeat script inside Redis (INFO commandstats usec_per_call of EVALSHA) for
// renewals of live sessions, for one or more usher checkouts (their dist/), interleaved:
//   node bench/script-cost.mjs [root ...]        (default: this checkout; run `npm run build` first)
// Each root's script is loaded into one private redis-server; every round runs BATCHES x 2,000
// pipelined renewals per root; the minimum over ROUNDS rounds is reported (least disturbed).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bulkLoad } from './lib/loader.mjs';
import { installExitHandlers, startRedis, stopAll } from './lib/processes.mjs';
import { BENCH_PLANS, contentId, deviceId, loadUsherScript, sessionId, userId } from './lib/workload.mjs';

const ROUNDS = 8;
const BATCHES = 10;
const BATCH = 2_000;

installExitHandlers();
const roots = process.argv.slice(2).map((r) => resolve(r));
if (roots.length === 0) roots.push(resolve(dirname(fileURLToPath(import.meta.url)), '..'));
const scripts = roots.map((root) => loadUsherScript(root));
const redis = await startRedis();
try {
  const c = redis.client;
  const pop = { users: 5_000, perUser: 2, releasePool: 0 };
  // Each checkout on keys of its own: their storage layouts may differ.
  const prefixOf = (v) => `usher${v}`;
  for (const [v, script] of scripts.entries()) await bulkLoad(c, script, pop, { prefix: prefixOf(v) });
  const table = scripts[0].encodePlanTable(BENCH_PLANS);
  const shas = [];
  for (const s of scripts) shas.push(await c.script('LOAD', s.lua));
  const best = roots.map(() => Infinity);
  for (let round = 0; round < ROUNDS; round++) {
    for (let v = 0; v < roots.length; v++) {
      await c.config('RESETSTAT');
      for (let b = 0; b < BATCHES; b++) {
        const pipeline = c.pipeline();
        for (let i = 0; i < BATCH; i++) {
          const u = (b * BATCH + i) % pop.users;
          const j = i & 1;
          const keys = scripts[v].userKeys(prefixOf(v), userId(u));
          pipeline.evalsha(shas[v], 2, keys.sessions, keys.override, 'request', sessionId(u, j),
            deviceId(u, j), 'w', contentId(u * 2 + j), '', BENCH_PLANS[0].name, table);
        }
        await pipeline.exec();
      }
      const info = await c.info('commandstats');
      best[v] = Math.min(best[v], Number(/cmdstat_evalsha:.*usec_per_call=([\d.]+)/.exec(info)[1]));
    }
  }
  for (const [v, root] of roots.entries()) {
    process.stdout.write(`${best[v].toFixed(2).padStart(7)} µs per EVALSHA (renewal; min of ${ROUNDS} x ${BATCHES * BATCH})  ${root}\n`);
  }
} finally {
  await stopAll();
}
process.exit(0);
