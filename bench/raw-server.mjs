// The raw-stack reference (docs/performance.md): a minimal Fastify + ioredis handler that runs the
// SAME heartbeat script (from dist/) with the same KEYS/ARGV (built by usher's own
// heartbeatScriptArgs) and answers the same response shape. Deliberately absent: validation,
// auth, metrics, Nest, timeouts, fail mode. The plans are the bench's (BENCH_PLANS).
//
// Env: RAW_PORT, REDIS_URL, RAW_KEY_PREFIX (default usher), RAW_ROOT (repo root, default ..).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import Redis from 'ioredis';
import { BENCH_PLANS, loadUsherScript } from './lib/workload.mjs';

const root = resolve(process.env.RAW_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const script = loadUsherScript(root);
const prefix = process.env.RAW_KEY_PREFIX ?? 'usher';
// The streaming licence policy of each plan, built once, as usher shares one per plan.
const fastAnswer = (planName, count) => {
  const d = script.fastRenewal(
    BENCH_PLANS.find((p) => p.name === planName) ?? BENCH_PLANS[0],
    count,
  );
  return [
    d.decision,
    d.reason,
    d.plan,
    d.countBy,
    d.maxStreams,
    d.activeStreams,
    d.renewalIntervalSeconds,
    d.graceSeconds,
    [],
  ];
};
const licenses = Object.fromEntries(
  BENCH_PLANS.map((p) => [p.name, script.licensePolicy('streaming', p)]),
);
const DRM_BY_LETTER = { w: 'widevine', p: 'playready', f: 'fairplay', c: 'clearkey' };

// ioredis defaults, as a minimal handler has them; RAW_AUTOPIPELINING=1 mirrors usher's hot
// connection instead (auto-pipelining costs throughput and p99 here: docs/performance.md).
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  enableAutoPipelining: process.env.RAW_AUTOPIPELINING === '1',
});
redis.defineCommand('usherHeartbeat', { numberOfKeys: script.numberOfKeys, lua: script.lua });

const view = ([sessionId, deviceId, drm, contentId, startedAt, lastSeenAt]) => ({
  sessionId,
  deviceId: deviceId || null,
  drm: DRM_BY_LETTER[drm],
  contentId: contentId || null,
  startedAt: new Date(startedAt).toISOString(),
  lastSeenAt: new Date(lastSeenAt).toISOString(),
});

const app = Fastify({ logger: false });
app.get('/health', async () => ({ ok: true }));
app.post('/v1/heartbeats', async (request) => {
  const b = request.body;
  const sessionId = b.customSessionId || b.sessionId;
  const reply = await redis.usherHeartbeat(
    ...script.args(
      prefix,
      {
        userId: b.userId,
        release: b.messageType === 'license-release',
        sessionId,
        deviceId: b.deviceId,
        drm: b.drm,
        contentId: b.contentId,
        plan: b.plan,
      },
      BENCH_PLANS,
    ),
  );
  // A fast renewal answers the live count alone; the rest comes from the plan, as in usher.
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
});

const close = async () => {
  await app.close();
  redis.disconnect();
  process.exit(0);
};
process.once('SIGTERM', close);
process.once('SIGINT', close);

await app.listen({ port: Number(process.env.RAW_PORT ?? 8090), host: '127.0.0.1' });
