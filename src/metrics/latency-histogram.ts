import type { Metric, Registry } from 'prom-client';

/** The observations of one label value: per-bucket (not cumulative) counts, sum and count. */
export class LatencyCell {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    if (i < bounds.length) this.counts[i]++; // past the last bound only +Inf (= count) holds it
    this.sum += seconds;
    this.count++;
  }

  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

type Labels = Record<string, string | number>;

/** A series as the registry writes it: `labels` first, then `sharedLabels`. */
interface Series {
  metricName: string;
  labels: Labels;
  sharedLabels?: Labels;
  value: number;
}

/** What prom-client's registry reads of a metric at scrape time. */
interface Exposed {
  name: string;
  help: string;
  type: 'histogram';
  values: Series[];
  aggregator: 'sum';
}

/**
 * A histogram of one label whose cells are resolved once per label value and then observed with
 * no label hashing or validation; prom-client's observe() does both on every call, and the hot
 * path observes twice per heartbeat. It registers itself like any prom-client metric and a
 * scrape exposes exactly what prom-client's Histogram would: cumulative `_bucket` series with
 * `le`, `+Inf`, `_sum` and `_count` for each label value seen.
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: number[];
  private readonly cells = new Map<string, LatencyCell>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    buckets: readonly number[],
    registry: Registry,
  ) {
    this.bounds = [...buckets].sort((a, b) => a - b);
    // The registry only calls name, get(), getForPromString() and reset(): Metric is a union
    // of prom-client's own classes, which this is not.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The cell of `value`, made on first use; keep it and observe into it. */
  cell(value: string): LatencyCell {
    let cell = this.cells.get(value);
    if (!cell) this.cells.set(value, (cell = new LatencyCell(this.bounds)));
    return cell;
  }

  reset(): void {
    for (const cell of this.cells.values()) cell.clear();
  }

  /** The text exposition's view (Registry.metrics()). */
  getForPromString(): Promise<Exposed> {
    return Promise.resolve(this.expose());
  }

  /** The JSON view (Registry.getMetricsAsJSON()): the label value joins each series' labels. */
  get(): Promise<Exposed> {
    const exposed = this.expose();
    exposed.values = exposed.values.map((series) => {
      const { sharedLabels, labels, ...rest } = series;
      return { ...rest, labels: { ...labels, ...sharedLabels } };
    });
    return Promise.resolve(exposed);
  }

  private expose(): Exposed {
    const values: Series[] = [];
    const series = (
      suffix: string,
      labels: Series['labels'],
      shared: Record<string, string>,
      value: number,
    ) => values.push({ metricName: `${this.name}_${suffix}`, labels, sharedLabels: shared, value });
    for (const [labelValue, cell] of this.cells) {
      const shared = { [this.labelName]: labelValue };
      let cumulative = 0;
      this.bounds.forEach((le, i) =>
        series('bucket', { le }, shared, (cumulative += cell.counts[i])),
      );
      series('bucket', { le: '+Inf' }, shared, cell.count);
      series('sum', {}, shared, cell.sum);
      series('count', {}, shared, cell.count);
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    };
  }
}
