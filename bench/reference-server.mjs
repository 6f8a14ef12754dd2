// The two reference servers usher is measured against (docs/performance.md, "Method"): minimal
// Fastify + ioredis handlers of POST /v1/heartbeats that take the same request body and token
// header as usher (the token is not checked). Deliberately absent: validation, auth, metrics,
// Nest, timeouts, fail mode.
//   raw    runs the SAME heartbeat script (from dist/) with the same KEYS/ARGV (built by usher's
//          own heartbeatScriptArgs) and answers the same response, licence policy included; the
//          plans are the bench's (BENCH_PLANS). usher ÷ raw is the cost of usher's own code.
//   floor  one `SET <key> <value> PX <ms>` per request (key from the user and session) and a fixed
//          small allow answer: what any Node server that writes to Redis per request pays.
//
// Env: REFERENCE_MODE (raw | floor), REFERENCE_PORT, REDIS_URL, REFERENCE_KEY_PREFIX,
// REFERENCE_ROOT (the usher checkout whose dist/ raw runs, default ..), REFERENCE_AUTOPIPELINING.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import Redis from 'ioredis';
import { BENCH_PLAN, BENCH_PLANS, loadUsherScript } from './lib/workload.mjs';

const env = process.env;
const mode = env.REFERENCE_MODE ?? 'raw';
const prefix = env.REFERENCE_KEY_PREFIX ?? 'usher';

// ioredis defaults, as a minimal handler has them; REFERENCE_AUTOPIPELINING=1 mirrors usher's hot
// connection instead (auto-pipelining costs throughput and p99 here: docs/performance.md).
const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  enableAutoPipelining: env.REFERENCE_AUTOPIPELINING === '1',
});

/** The raw handler: usher's script, usher's arguments, usher's answer. */
function rawHandler() {
  const root = resolve(env.REFERENCE_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const script = loadUsherScript(root);
  redis.defineCommand('usherHeartbeat', { numberOfKeys: script.numberOfKeys, lua: script.lua });
  // A fast renewal answers the live count alone; the rest comes from the plan, as in usher.
  const fastAnswer = (planName, count) => {
    const plan = BENCH_PLANS.find((p) => p.name === planName) ?? BENCH_PLANS[0];
    const d = script.fastRenewal(plan, count);
    const { decision, reason, plan: name, countBy, maxStreams, activeStreams } = d;
    const { renewalIntervalSeconds: interval, graceSeconds: grace } = d;
    return [decision, reason, name, countBy, maxStreams, activeStreams, interval, grace, []];
  };
  // The streaming licence policy of each plan, built once, as usher shares one per plan.
  const licenses = Object.fromEntries(
    BENCH_PLANS.map((p) => [p.name, script.licensePolicy('streaming', p)]),
  );
  const DRM_BY_LETTER = { w: 'widevine', p: 'playready', f: 'fairplay', c: 'clearkey' };
  const view = ([sessionId, deviceId, drm, contentId, startedAt, lastSeenAt]) => ({
    sessionId,
    deviceId: deviceId || null,
    drm: DRM_BY_LETTER[drm],
    contentId: contentId || null,
    startedAt: new Date(startedAt).toISOString(),
    lastSeenAt: new Date(lastSeenAt).toISOString(),
  });
  return async (request) => {
    const b = request.body;
    const sessionId = b.customSessionId || b.sessionId;
    const heartbeat = {
      userId: b.userId,
      release: b.messageType === 'license-release',
      sessionId,
      deviceId: b.deviceId,
      drm: b.drm,
      contentId: b.contentId,
      plan: b.plan,
    };
    const reply = await redis.usherHeartbeat(...script.args(prefix, heartbeat));
    const [decision, reason, plan, countBy, maxStreams, activeStreams, interval, grace, rows] =
      typeof reply === 'number' ? fastAnswer(b.plan, reply) : reply;
    const listed = rows.map(view);
    return {
      decision,
      reason,
      sessionId,
      plan,
      countBy,
      activeStreams,
      maxStreams,
      renewAfterSeconds: interval,
      expiresInSeconds: decision === 'allow' && reason !== 'released' ? interval + grace : 0,
      evicted: decision === 'allow' ? listed : [],
      conflicts: decision === 'deny' ? listed : [],
      license: decision === 'allow' ? licenses[plan] : undefined,
    };
  };
}

/** The floor handler: one SET with a TTL, one fixed answer. */
function floorHandler() {
  const ttlMs = (BENCH_PLAN.renewalIntervalSeconds + BENCH_PLAN.graceSeconds) * 1000;
  const answer = JSON.stringify({ decision: 'allow', reason: 'renewed' });
  return async (request, reply) => {
    const b = request.body;
    const key = `${prefix}:{${b.userId}}:${b.customSessionId || b.sessionId}`;
    await redis.set(key, b.deviceId ?? '', 'PX', ttlMs);
    reply.type('application/json; charset=utf-8');
    return answer;
  };
}

const handlers = { raw: rawHandler, floor: floorHandler };
if (!handlers[mode]) throw new Error(`REFERENCE_MODE=${mode}: expected raw or floor`);

const app = Fastify({ logger: false });
app.get('/health', async () => ({ ok: true }));
app.post('/v1/heartbeats', handlers[mode]());

const close = async () => {
  await app.close();
  redis.disconnect();
  process.exit(0);
};
process.once('SIGTERM', close);
process.once('SIGINT', close);

await app.listen({ port: Number(env.REFERENCE_PORT ?? 8090), host: '127.0.0.1' });
