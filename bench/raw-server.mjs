// The raw-stack reference of SPEC §9: a minimal Fastify + ioredis handler that runs the SAME
// heartbeat script (lib.lua + heartbeat.lua from dist/) with the same KEYS/ARGV and answers the
// same response shape. Deliberately absent: validation, auth, metrics, Nest, timeouts, fail mode.
//
// Env: RAW_PORT, REDIS_URL, RAW_KEY_PREFIX (default usher), RAW_ROOT (repo root, default ..).
// The plan table and default plan come from RAW_PLAN_TABLE / RAW_DEFAULT_PLAN, else the bench plan.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import Redis from 'ioredis';
import { BENCH_PLANS, loadUsherScript } from './lib/workload.mjs';

const root = resolve(process.env.RAW_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const script = loadUsherScript(root);
const prefix = process.env.RAW_KEY_PREFIX ?? 'usher';
const defaultPlan = process.env.RAW_DEFAULT_PLAN ?? BENCH_PLANS[0].name;
const planTable = process.env.RAW_PLAN_TABLE ?? script.encodePlanTable(BENCH_PLANS);
const DRM_LETTER = { widevine: 'w', playready: 'p', fairplay: 'f', clearkey: 'c' };
const DRM_BY_LETTER = { w: 'widevine', p: 'playready', f: 'fairplay', c: 'clearkey' };

// ioredis defaults, as a minimal handler has them; RAW_AUTOPIPELINING=1 mirrors usher's hot
// connection instead (auto-pipelining costs throughput and p99 here: docs/performance.md).
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  enableAutoPipelining: process.env.RAW_AUTOPIPELINING === '1',
});
redis.defineCommand('usherHeartbeat', { numberOfKeys: 2, lua: script.lua });

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
  const keys = script.userKeys(prefix, b.userId);
  const [decision, reason, plan, countBy, maxStreams, activeStreams, interval, grace, rows] =
    await redis.usherHeartbeat(
      keys.sessions,
      keys.override,
      b.messageType === 'license-release' ? 'release' : 'request',
      sessionId,
      b.deviceId ?? '',
      DRM_LETTER[b.drm],
      b.contentId ?? '',
      b.plan ?? '',
      defaultPlan,
      planTable,
    );
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
