// Where the churner's Redis CPU goes (docs/performance.md, "The churner"): usher's heartbeat
// script cut short after each step, called as the churner calls it (a new session id each time,
// an evict-oldest plan at its limit), µs per EVALSHA (INFO commandstats), minimum of rounds:
//   node bench/churn-steps.mjs [root]     (default: this checkout; run `npm run build` first)
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installExitHandlers, startRedis, stopAll } from './lib/processes.mjs';
import { CHURN_PLAN, loadUsherScript } from './lib/workload.mjs';

/** Each step: the line of lua/heartbeat.lua before which the cut script returns. */
const STEPS = {
  'policy resolved': "-- The reply's first 11 fields",
  'library defined': '-- A persistent licence is a download',
  'lapsed pruned, live read': 'local state = stateOfScore(u, scoreSeen)',
  'details loaded': 'local known = byId[sessionId]',
  decided: 'local victims = v.victims or {}',
};
const ROUNDS = Number(process.env.BENCH_REDIS_COST_ROUNDS) || 4;

installExitHandlers();
const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const script = loadUsherScript(root);
const cutBefore = (line) => {
  const at = script.lua.indexOf(`\n${line}`) + 1;
  if (at <= 0) throw new Error(`lua/heartbeat.lua no longer has "${line}": update STEPS`);
  return `${script.lua.slice(0, at)}do return 0 end\n${script.lua.slice(at)}`;
};
const variants = {
  ...Object.fromEntries(Object.entries(STEPS).map(([step, line]) => [step, cutBefore(line)])),
  'whole call': script.lua,
};

const redis = await startRedis();
try {
  const client = redis.client;
  const shas = {};
  for (const [step, lua] of Object.entries(variants)) shas[step] = await client.script('LOAD', lua);
  let n = 0;
  const churnArgs = () =>
    script.args('churn', {
      userId: 'churner',
      sessionId: `churn-${n++}`,
      deviceId: 'loop-device',
      contentId: 'title',
      drm: 'widevine',
      release: false,
      plan: CHURN_PLAN.name,
    });
  // The churner at its bound first (the whole script), then each cut script on that state.
  for (let i = 0; i < 200; i++)
    await client.evalsha(shas['whole call'], script.numberOfKeys, ...churnArgs());
  const usPerCall = async (sha) => {
    await client.config('RESETSTAT');
    for (let b = 0; b < 5; b++) {
      const pipeline = client.pipeline();
      for (let i = 0; i < 2000; i++) pipeline.evalsha(sha, script.numberOfKeys, ...churnArgs());
      await pipeline.exec();
    }
    const info = await client.info('commandstats');
    return Number(/cmdstat_evalsha:.*usec_per_call=([\d.]+)/.exec(info)[1]);
  };
  const best = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const step of Object.keys(variants)) {
      best[step] = Math.min(best[step] ?? Infinity, await usPerCall(shas[step]));
    }
  }
  let before = 0;
  for (const [step, us] of Object.entries(best)) {
    process.stdout.write(
      `${step.padEnd(26)} ${us.toFixed(2)} µs  (+${(us - before).toFixed(2)})\n`,
    );
    before = us;
  }
} finally {
  await stopAll();
}
process.exit(0);
