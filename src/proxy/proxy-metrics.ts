import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

export const PROXY_OUTCOMES = [
  'forwarded',
  'denied',
  'passed_through',
  'bad_request',
  'unauthorized',
  'upstream_error',
] as const;
export type ProxyOutcome = (typeof PROXY_OUTCOMES)[number];

/** Seconds; a licence server answers in milliseconds to seconds, the timeout caps it (≤120 s). */
export const UPSTREAM_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120,
];

/** The proxy's metrics, on usher's registry. Labels: the DRM (four values) and the outcome. */
@Injectable()
export class ProxyMetrics {
  private readonly requests: Counter<'drm' | 'outcome'>;
  private readonly upstreamDuration: Histogram<'drm'>;

  constructor(metrics: MetricsService) {
    this.requests = new Counter({
      name: 'usher_proxy_requests_total',
      help: 'Licence proxy requests by DRM and outcome (forwarded, denied, passed_through, bad_request, unauthorized, upstream_error)',
      labelNames: ['drm', 'outcome'] as const,
      registers: [metrics.registry],
    });
    this.upstreamDuration = new Histogram({
      name: 'usher_proxy_upstream_duration_seconds',
      help: 'Time from sending a licence message upstream to the upstream answer headers',
      labelNames: ['drm'] as const,
      buckets: UPSTREAM_BUCKETS_SECONDS,
      registers: [metrics.registry],
    });
  }

  count(drm: string, outcome: ProxyOutcome): void {
    this.requests.inc({ drm, outcome });
  }

  observeUpstream(drm: string, started: bigint): void {
    this.upstreamDuration.observe({ drm }, Number(process.hrtime.bigint() - started) / 1e9);
  }
}
