import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { pollUntil } from '../support/child-process';
import { dashboardQueries, REPO_ROOT } from '../support/dashboard-queries';
import {
  EXPECTED_OUTCOMES,
  runUsers,
  Scenario,
  Transport,
  TRAFFIC_PLANS,
} from '../support/heartbeat-traffic';
import { PromSample, startPrometheus, TestPrometheus } from '../support/prometheus';
import { startRedis, TestRedis } from '../support/redis-server';
import { ADMIN_TOKEN, LICENSE_TOKEN, startApp, testConfig } from '../support/test-app';

/**
 * Issue 4: every query of the Grafana dashboard, run by a real Prometheus that scrapes a real
 * usher under traffic (admissions, renewals, denials, releases, evictions, terminations) and
 * evaluates prometheus/usher.rules.yml, parses and returns data.
 */

const RULES_FILE = join(REPO_ROOT, 'prometheus', 'usher.rules.yml');
/** Generous: only the deliberate Redis stall below may produce a degraded decision. */
const STORE_TIMEOUT_MS = 1000;
/** Scrapes a query needs before rate() over the dashboard's 1m window has points to work on. */
const MIN_SCRAPES = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function httpTransport(baseUrl: string): Transport {
  return {
    heartbeat: async (body) => {
      const res = await fetch(`${baseUrl}/v1/heartbeats`, {
        method: 'POST',
        headers: { authorization: `Bearer ${LICENSE_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    },
    terminate: async (userId, sessionId) => {
      const res = await fetch(`${baseUrl}/v1/users/${userId}/sessions/${sessionId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer();
      return res.status;
    },
  };
}

describe('Grafana dashboard queries against a real Prometheus scraping usher', () => {
  let redis: TestRedis | undefined;
  let receiver: Server | undefined;
  let webhooksReceived = 0;
  let app: NestFastifyApplication | undefined;
  let prometheus: TestPrometheus | undefined;
  let scenarios: Scenario[] = [];
  let traffic: Promise<void> | undefined;
  const trafficProblems: string[] = [];
  let stopTraffic = false;

  /** Users through every scenario, a round every 250 ms, so that every rate() stays above 0. */
  async function keepTrafficGoing(transport: Transport): Promise<void> {
    for (let round = 1; !stopTraffic; round++) {
      const runs = await runUsers(transport, scenarios, `bg${round}`, 0, scenarios.length, 4);
      runs.forEach((run, i) => {
        const expected = EXPECTED_OUTCOMES[scenarios[i]];
        if (run.outcomes.join() !== expected.join()) {
          trafficProblems.push(`${scenarios[i]}: ${run.outcomes.join()} (expected ${expected})`);
        }
      });
      await sleep(250);
    }
  }

  const values = async (expr: string): Promise<PromSample[]> => {
    const result = await prometheus!.query(expr);
    return result.status === 'success' ? result.samples : [];
  };

  beforeAll(async () => {
    // DEBUG SLEEP stalls Redis past the store timeout below: degraded decisions, store errors.
    redis = await startRedis(['--enable-debug-command', 'yes']);
    // A webhook receiver, so that the event-delivery panels show deliveries.
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        webhooksReceived++;
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
    const receiverPort = (receiver.address() as AddressInfo).port;
    app = await startApp(
      testConfig(
        redis.url,
        { plans: TRAFFIC_PLANS, storeTimeoutMs: STORE_TIMEOUT_MS, failMode: 'open' },
        {
          // usher_active_slots comes from a cluster-wide periodic job: run it at its fastest.
          USHER_ACTIVE_SLOTS_INTERVAL_MS: '1000',
          USHER_WEBHOOK_URLS: `http://127.0.0.1:${receiverPort}/usher-events`,
          USHER_WEBHOOK_SECRET: 'test-webhook-secret',
        },
      ),
    );
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const baseUrl = `http://127.0.0.1:${port}`;
    const transport = httpTransport(baseUrl);

    // Terminations (admin API) where this build serves them.
    const probe = await fetch(`${baseUrl}/v1/users/probe/sessions`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await probe.arrayBuffer();
    scenarios = ['reject-new', 'evict-oldest', ...(probe.ok ? ['terminate' as const] : [])];

    // Every series exists before the first scrape; the background rounds keep them moving.
    const first = await runUsers(transport, scenarios, 'dash', 0, scenarios.length * 4, 4);
    first.forEach((run, i) =>
      expect(run.outcomes).toEqual(EXPECTED_OUTCOMES[scenarios[i % scenarios.length]]),
    );
    // Redis stalls past USHER_STORE_TIMEOUT_MS: a degraded decision and a store timeout.
    const stall = redis.client.call('DEBUG', 'SLEEP', String((STORE_TIMEOUT_MS + 300) / 1000));
    const degraded = await transport.heartbeat({
      userId: 'dash-degraded',
      drm: 'widevine',
      messageType: 'license-request',
      sessionId: 'dash-degraded-session',
    });
    await stall;
    expect(degraded.body).toMatchObject({ decision: 'allow', reason: 'degraded' });
    traffic = keepTrafficGoing(transport);

    prometheus = await startPrometheus({
      jobs: [{ name: 'usher', targets: [`127.0.0.1:${port}`], labels: { namespace: 'test' } }],
      ruleFiles: [RULES_FILE],
      intervalSeconds: 1,
    });
    const promOutput = prometheus.output;
    await pollUntil(
      `${MIN_SCRAPES} scrapes of usher and the recording rules evaluated`,
      async () => {
        const scrapes = await values(
          `min(count_over_time(usher_heartbeats_total{job="usher", namespace="test"}[1m]))`,
        );
        const recorded = await values('usher:heartbeats:rate1m');
        return (scrapes[0]?.value ?? 0) >= MIN_SCRAPES && recorded.length > 0;
      },
      45_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${promOutput()}`);
    });
    // The active-slots gauge appears with the periodic job's first tick (not a hard wait: the
    // usher_active_slots queries below fail on their own if it never comes).
    await pollUntil(
      'usher_active_slots scraped',
      async () => (await values('usher_active_slots{job="usher"}')).length > 0,
      15_000,
    ).catch(() => undefined);
  }, 80_000);

  afterAll(async () => {
    stopTraffic = true;
    await traffic?.catch(() => undefined);
    await prometheus?.stop();
    await app?.close();
    await redis?.stop();
    receiver?.closeAllConnections();
    await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
  });

  it('usher is up and the traffic reached every scenario it meant to', async () => {
    expect(await values('up{job="usher", namespace="test"}')).toEqual([
      expect.objectContaining({ value: 1 }),
    ]);
    expect(trafficProblems).toEqual([]);
    const reasons = (await values('sum by (reason) (usher_heartbeats_total{job="usher"})')).map(
      (s) => s.metric.reason,
    );
    expect(reasons.sort()).toEqual([
      'admitted',
      'degraded',
      'limit_exceeded',
      'released',
      'renewed',
      'session_revoked',
    ]);
    const causes = (await values('sum by (cause) (usher_evictions_total{job="usher"})')).map(
      (s) => s.metric.cause,
    );
    expect(causes).toContain('evict_oldest');
    if (scenarios.includes('terminate')) expect(causes).toContain('terminated');
  });

  it('the panels guarded by `or vector(0)` have real series behind them too', async () => {
    const series = async (expr: string) =>
      (await values(expr)).map((s) => JSON.stringify(s.metric));
    expect(await series('usher_degraded_decisions_total{job="usher"}')).toEqual([
      expect.stringContaining('"fail_mode":"open"'),
    ]);
    expect(await series('usher_store_errors_total{job="usher"}')).toEqual([
      expect.stringContaining('"kind":"timeout"'),
    ]);
    expect(webhooksReceived).toBeGreaterThan(0);
    expect(await series('usher_webhook_deliveries_total{job="usher"}')).toContainEqual(
      expect.stringContaining('"outcome":"delivered"'),
    );
  });

  it('every rule of prometheus/usher.rules.yml loads and evaluates without error', async () => {
    const res = await fetch(`${prometheus!.url}/api/v1/rules`);
    const body = (await res.json()) as {
      data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string }> }> };
    };
    const rules = body.data.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(10);
    expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
  });

  const queries = dashboardQueries();

  it('the dashboard has queries to run', () => {
    expect(queries.length).toBeGreaterThan(20);
  });

  it.each(queries)('%s parses and returns data', async (expr) => {
    const result = await prometheus!.query(expr);
    expect(result).toMatchObject({ status: 'success' });
    if (result.status !== 'success') return;
    expect(result.samples.length).toBeGreaterThan(0);
  });
});
