import { performance } from 'node:perf_hooks';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { HeartbeatService } from '../../src/heartbeat/heartbeat.service';
import { MetricsService } from '../../src/metrics/metrics.service';
import { SessionStore } from '../../src/sessions/session-store';
import { startRedis, TestRedis } from '../support/redis-server';
import { catalog, plan, startApp, testConfig } from '../support/test-app';

/**
 * USHER_MAX_IN_FLIGHT: with Redis hung (SIGSTOP), heartbeats past the bound are answered at once
 * per the fail mode and never written, so Redis finds at most the bound of heartbeat scripts in
 * its socket when it comes back, however many arrived meanwhile.
 */
const MAX_IN_FLIGHT = 50;
const STORE_TIMEOUT_MS = 200;
const ARRIVALS = 3000;
/** Generous: the process also runs the 3,000 calls and Redis; a queue would take seconds. */
const ANSWER_BOUND_MS = STORE_TIMEOUT_MS + 1000;

describe('store calls in flight are bounded', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let prefix: string;

  beforeAll(async () => {
    redis = await startRedis();
    const config = testConfig(redis.url, {
      maxInFlight: MAX_IN_FLIGHT,
      storeTimeoutMs: STORE_TIMEOUT_MS,
      plans: catalog(plan('basic', { maxStreams: 5 })),
    });
    prefix = config.keyPrefix;
    app = await startApp(config);
  });
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it(`answers ${ARRIVALS} heartbeats within the timeout while Redis hangs, and sends it at most ${MAX_IN_FLIGHT}`, async () => {
    const heartbeats = app.get(HeartbeatService);
    const store = app.get(SessionStore);
    const info = await redis.client.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    process.kill(pid, 'SIGSTOP');
    let answers: { reason: string; ms: number }[];
    try {
      answers = await Promise.all(
        Array.from({ length: ARRIVALS }, async (_, i) => {
          const started = performance.now();
          const answer = await heartbeats.decide({
            userId: `inflight-${i}`,
            drm: 'widevine',
            messageType: 'license-request',
            sessionId: 'playback',
          });
          return { reason: answer.reason, ms: performance.now() - started };
        }),
      );
      expect(store.callsInFlight).toBe(MAX_IN_FLIGHT); // written, unanswered: Redis is stopped
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(answers.every((a) => a.reason === 'degraded')).toBe(true);
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(ANSWER_BOUND_MS);

    // Redis runs what reached its socket: one script per user, each leaving that user's keys.
    const deadline = Date.now() + 5000;
    while (store.callsInFlight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(store.callsInFlight).toBe(0);
    const keys = await redis.client.keys(`${prefix}:{inflight-*}:z`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.length).toBeLessThanOrEqual(MAX_IN_FLIGHT);

    const metrics = await app
      .get(MetricsService)
      .registry.getSingleMetricAsString('usher_store_errors_total');
    const overloads = Number(
      /usher_store_errors_total\{operation="heartbeat",kind="overload"\} (\d+)/.exec(metrics)?.[1],
    );
    expect(overloads).toBe(ARRIVALS - MAX_IN_FLIGHT);

    // and once Redis answers again, heartbeats are decided normally
    const after = await heartbeats.decide({
      userId: 'inflight-after',
      drm: 'widevine',
      messageType: 'license-request',
      sessionId: 'playback',
    });
    expect(after.reason).toBe('admitted');
  });
});
