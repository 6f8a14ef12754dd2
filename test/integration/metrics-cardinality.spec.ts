import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  Answer,
  EXPECTED_OUTCOMES,
  runUsers,
  Scenario,
  ScenarioRun,
  Transport,
  TRAFFIC_PLANS,
} from '../support/heartbeat-traffic';
import { pollUntil } from '../support/child-process';
import { startRedis, TestRedis } from '../support/redis-server';
import { ADMIN_TOKEN, LICENSE_TOKEN, startApp, testConfig } from '../support/test-app';

/**
 * Label values are bounded, never a user, session, device or content id (docs/metrics.md).
 * Proven the way an SRE would notice it: 10,000 more users leave the number of series on /metrics
 * unchanged.
 */

const USERS = 10_000;
const PARALLEL = 64;
/** Ids of the load phase all start with this; nothing usher emits by itself contains it. */
const TAG = 'cardzq';
const DRMS = ['widevine', 'playready', 'fairplay', 'clearkey'];
const MESSAGE_TYPES = ['license-request', 'license-renewal', 'license-release'];

/** The series of a Prometheus text exposition: every line that is not a comment. */
function seriesOf(exposition: string): string[] {
  return exposition.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
}

/** Every label value on the page (escapes left as they are: ids never contain a backslash). */
function labelValues(exposition: string): string[] {
  return seriesOf(exposition).flatMap((series) =>
    [...series.matchAll(/[a-zA-Z_]\w*="((?:[^"\\]|\\.)*)"/g)].map(([, value]) => value),
  );
}

/**
 * Node's runtime metrics label by GC kind and by handle/resource type: a bounded set, but its
 * members appear when the runtime first does something (a first major GC, a first socket), which
 * a larger load may do for the first time. They are compared by their label values instead.
 */
const RUNTIME_TYPED = /^nodejs_(gc_duration_seconds|active_(handles|requests|resources))/;
const GC_KINDS = ['minor', 'major', 'incremental', 'weakcb'];

/** A series without its value: name and label set. */
function labelSet(series: string): string {
  return series.replace(/ [^ ]+$/, '');
}

/** labelSet, with the value of Node's runtime-type label (`kind`, `type`) collapsed. */
function identity(series: string): string {
  const key = labelSet(series);
  return RUNTIME_TYPED.test(key) ? key.replace(/\b(kind|type)="[^"]*"/, '$1="*"') : key;
}

describe('metrics cardinality (labels never carry an id)', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let transport: Transport;
  let scenarios: Scenario[];
  let before: string;
  let after: string;
  let loadRuns: ScenarioRun[];

  const metrics = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;

  beforeAll(async () => {
    // DEBUG SLEEP in warm-up stalls Redis past the store timeout to reach `degraded`.
    redis = await startRedis(['--enable-debug-command', 'yes']);
    app = await startApp(
      testConfig(
        redis.url,
        { plans: TRAFFIC_PLANS, storeTimeoutMs: 1000, failMode: 'open' },
        // The cluster-wide usher_active_slots job at its fastest, so its series exist before.
        { USHER_ACTIVE_SLOTS_INTERVAL_MS: '1000' },
      ),
    );
    transport = {
      heartbeat: async (body) => {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/heartbeats',
          headers: { authorization: `Bearer ${LICENSE_TOKEN}` },
          payload: body,
        });
        return { status: res.statusCode, body: res.json<Answer['body']>() };
      },
      terminate: async (userId, sessionId) =>
        (
          await app.inject({
            method: 'DELETE',
            url: `/v1/users/${userId}/sessions/${sessionId}`,
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          })
        ).statusCode,
    };
    // Terminate (admin API) when this build serves it; the other scenarios always.
    const probe = await app.inject({
      method: 'GET',
      url: '/v1/users/probe/sessions',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    scenarios = [
      'reject-new',
      'evict-oldest',
      ...(probe.statusCode === 200 ? ['terminate' as const] : []),
    ];
  });

  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it('warm-up reaches every decision and reason, degraded included', async () => {
    const warm = await runUsers(transport, scenarios, 'warm', 0, scenarios.length * 10, 8);
    warm.forEach((run, i) => {
      expect(run.outcomes).toEqual(EXPECTED_OUTCOMES[scenarios[i % scenarios.length]]);
    });

    // Degraded answers for every drm × message type × plan, while Redis sleeps past the timeout.
    const sleeping = redis.client.call('DEBUG', 'SLEEP', '1.5');
    const degraded = await Promise.all(
      DRMS.flatMap((drm) =>
        MESSAGE_TYPES.flatMap((messageType) =>
          TRAFFIC_PLANS.plans.map(({ name }) =>
            transport.heartbeat({
              userId: 'warm-degraded',
              drm,
              messageType,
              plan: name,
              sessionId: 'warm-degraded-session',
              deviceId: 'warm-degraded-device',
            }),
          ),
        ),
      ),
    );
    await sleeping;
    expect(new Set(degraded.map((a) => `${a.status} ${a.body.reason}`))).toEqual(
      new Set(['200 degraded']),
    );

    // usher_active_slots{plan} appears with the periodic job's first tick: wait for it (every
    // plan), so that "before" holds every series a steady instance has.
    await pollUntil(
      'usher_active_slots for every plan',
      async () => {
        const page = await metrics();
        return TRAFFIC_PLANS.plans.every(({ name }) =>
          page.includes(`usher_active_slots{plan="${name}"}`),
        );
      },
      15_000,
    );
    before = await metrics();
    for (const reason of ['admitted', 'renewed', 'released', 'limit_exceeded', 'session_revoked']) {
      expect(before).toContain(`reason="${reason}"`);
    }
    expect(before).toMatch(/usher_degraded_decisions_total\{fail_mode="open"\} [1-9]/);
    expect(before).toMatch(/usher_evictions_total\{plan="family",cause="evict_oldest"\} [1-9]/);
  });

  it(`${USERS} more users (distinct sessions, devices, contents) add no series`, async () => {
    expect(before).toBeDefined();
    loadRuns = await runUsers(transport, scenarios, TAG, 0, USERS, PARALLEL);
    loadRuns.forEach((run, i) => {
      expect(run.outcomes).toEqual(EXPECTED_OUTCOMES[scenarios[i % scenarios.length]]);
    });
    after = await metrics();

    // usher's own series: the very same label sets, in the same order (only values moved).
    const usher = (page: string) => seriesOf(page).filter((s) => s.startsWith('usher_'));
    expect(usher(after).map(labelSet)).toEqual(usher(before).map(labelSet));
    // Every other series too, Node's runtime-type labels aside (see RUNTIME_TYPED).
    const identities = (page: string) => [...new Set(seriesOf(page).map(identity))].sort();
    expect(identities(after)).toEqual(identities(before));
    const plain = (page: string) => seriesOf(page).filter((s) => !RUNTIME_TYPED.test(s));
    expect(plain(after).length).toBe(plain(before).length);
    // ...and those runtime labels only take values from Node's own vocabulary.
    for (const series of seriesOf(after).filter((s) => RUNTIME_TYPED.test(s))) {
      const kind = /\bkind="([^"]*)"/.exec(series)?.[1];
      const type = /\btype="([^"]*)"/.exec(series)?.[1];
      if (kind !== undefined) expect(GC_KINDS).toContain(kind);
      if (type !== undefined) expect(type).toMatch(/^[A-Z][A-Za-z]{1,40}$/);
    }

    console.log(
      `series on /metrics: ${seriesOf(before).length} before, ${seriesOf(after).length} after ` +
        `${USERS} users; usher_*: ${usher(before).length} → ${usher(after).length}; ` +
        `without Node's runtime-type labels: ${plain(before).length} → ${plain(after).length}; ` +
        `${loadRuns.reduce((n, run) => n + run.outcomes.length, 0)} requests`,
    );
  }, 60_000);

  it('no label value on /metrics contains a user, session, device or content id', () => {
    expect(after).toBeDefined();
    const ids = new Set(loadRuns.flatMap((run) => run.ids));
    expect(ids.size).toBeGreaterThan(USERS * 4);
    const values = labelValues(after).join('\n');
    expect(values).not.toContain(TAG);
    const leaked = [...ids].filter((id) => values.includes(id));
    expect(leaked).toEqual([]);
    // Not in any other part of the page either (HELP texts, exemplars).
    expect(after).not.toContain(TAG);
  });
});
