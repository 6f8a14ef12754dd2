import { Histogram, Registry } from 'prom-client';
import { LatencyHistogram } from '../../src/metrics/latency-histogram';
import { LATENCY_BUCKETS_SECONDS, MetricsService } from '../../src/metrics/metrics.service';

const NAME = 'test_duration_seconds';
const HELP = 'a test histogram';

/** The same observations into prom-client's own Histogram and into a LatencyHistogram. */
function twins() {
  const reference = new Registry();
  const ours = new Registry();
  const histogram = new Histogram({
    name: NAME,
    help: HELP,
    labelNames: ['operation'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [reference],
  });
  const latency = new LatencyHistogram(NAME, HELP, 'operation', LATENCY_BUCKETS_SECONDS, ours);
  const observe = (operation: string, seconds: number) => {
    histogram.observe({ operation }, seconds);
    latency.cell(operation).observe(seconds);
  };
  return { reference, ours, observe };
}

// Below the first bound, on bounds (le is inclusive), between bounds, past the last one.
const SAMPLES = [0, 0.0001, 0.0002, 0.00021, 0.001, 0.004, 0.005, 0.3, 1, 1.5, 42];

describe('LatencyHistogram', () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const { reference, ours, observe } = twins();
    SAMPLES.forEach((s, i) => observe(i % 3 ? 'heartbeat' : 'terminate', s));
    expect(await ours.metrics()).toBe(await reference.metrics());
    // Exemplars (null or undefined on every series prom-client writes) are not kept.
    type Series = { exemplar?: unknown };
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map((m) => ({
        ...m,
        values: m.values.map((v) => {
          const copy: typeof v & Series = { ...v };
          delete copy.exemplar;
          return copy;
        }),
      }));
    expect(await ours.getMetricsAsJSON()).toEqual(
      withoutExemplars(await reference.getMetricsAsJSON()),
    );
    expect(await ours.metrics()).toContain(`${NAME}_bucket{le="0.0002",operation="heartbeat"} 2`);
  });

  it('counts a value on a bound into that bound, and one past every bound only into +Inf', async () => {
    const { ours, observe } = twins();
    observe('heartbeat', 0.005);
    observe('heartbeat', 2);
    const text = await ours.metrics();
    expect(text).toContain(`${NAME}_bucket{le="0.003",operation="heartbeat"} 0`);
    expect(text).toContain(`${NAME}_bucket{le="0.005",operation="heartbeat"} 1`);
    expect(text).toContain(`${NAME}_bucket{le="1",operation="heartbeat"} 1`);
    expect(text).toContain(`${NAME}_bucket{le="+Inf",operation="heartbeat"} 2`);
    expect(text).toContain(`${NAME}_sum{operation="heartbeat"} 2.005`);
    expect(text).toContain(`${NAME}_count{operation="heartbeat"} 2`);
  });

  it('keeps its counts across scrapes and clears them on a registry reset', async () => {
    const { ours, observe } = twins();
    observe('heartbeat', 0.001);
    await ours.metrics();
    expect(await ours.metrics()).toContain(`${NAME}_count{operation="heartbeat"} 1`);
    ours.resetMetrics();
    expect(await ours.metrics()).toContain(`${NAME}_count{operation="heartbeat"} 0`);
    observe('heartbeat', 0.001);
    expect(await ours.metrics()).toContain(`${NAME}_count{operation="heartbeat"} 1`);
  });

  it('refuses a second metric of the same name on one registry, like prom-client', () => {
    const registry = new Registry();
    new LatencyHistogram(NAME, HELP, 'operation', LATENCY_BUCKETS_SECONDS, registry);
    expect(() => new LatencyHistogram(NAME, HELP, 'operation', [1], registry)).toThrow(
      /already been registered/,
    );
  });

  it("is what MetricsService's heartbeat and store histograms scrape as", async () => {
    const metrics = new MetricsService();
    metrics.observeHeartbeat('deny', process.hrtime.bigint());
    metrics.observeStore('heartbeat', process.hrtime.bigint());
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE usher_heartbeat_duration_seconds histogram');
    expect(text).toContain('usher_heartbeat_duration_seconds_count{decision="deny"} 1');
    expect(text).toContain('usher_heartbeat_duration_seconds_count{decision="allow"} 0');
    expect(text).toContain('usher_store_duration_seconds_count{operation="heartbeat"} 1');
    expect(text).toMatch(/usher_store_duration_seconds_bucket\{le="1",operation="heartbeat"\} 1\n/);
  });
});
