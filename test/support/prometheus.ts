import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/redis/local-redis';
import { isRunning, killChild, pollUntil } from './child-process';

/** The Debian package's binary; CI (.ci/run) installs it. PROMETHEUS_BIN overrides it locally. */
export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export interface ScrapeJob {
  name: string;
  /** host:port of each target, scraped at /metrics. */
  targets: string[];
  /** Target labels added by Prometheus (e.g. the `namespace` a ServiceMonitor would add). */
  labels?: Record<string, string>;
}

export interface PrometheusOptions {
  jobs: ScrapeJob[];
  /** Rule files (recording rules and alerts), evaluated every `intervalSeconds`. */
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval. */
  intervalSeconds?: number;
}

/** One sample of an instant query: a vector element, or a scalar (empty labels). */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export type QueryResult =
  | { status: 'success'; resultType: string; samples: PromSample[] }
  | { status: 'error'; errorType: string; error: string };

/** A private Prometheus on a free loopback port, its config and TSDB in a temp dir. */
export interface TestPrometheus {
  url: string;
  /** Instant query through the HTTP API (GET /api/v1/query). */
  query(expr: string): Promise<QueryResult>;
  /** Prometheus' own output so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

interface ApiResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: {
    resultType: 'vector' | 'scalar' | 'matrix' | 'string';
    result: unknown;
  };
}

type PromValue = [number, string];

function samplesOf(data: NonNullable<ApiResponse['data']>): PromSample[] {
  switch (data.resultType) {
    case 'scalar':
      return [{ metric: {}, value: Number((data.result as PromValue)[1]) }];
    case 'vector':
      return (data.result as Array<{ metric: Record<string, string>; value: PromValue }>).map(
        ({ metric, value }) => ({ metric, value: Number(value[1]) }),
      );
    case 'matrix':
      return (data.result as Array<{ metric: Record<string, string>; values: PromValue[] }>).map(
        ({ metric, values }) => ({ metric, value: Number(values[values.length - 1]?.[1]) }),
      );
    default:
      return [];
  }
}

/** The YAML is written as JSON (a YAML subset): no quoting rules to get wrong. */
function prometheusConfig(options: PrometheusOptions): string {
  const interval = `${options.intervalSeconds ?? 1}s`;
  return JSON.stringify(
    {
      global: {
        scrape_interval: interval,
        scrape_timeout: interval,
        evaluation_interval: interval,
      },
      rule_files: options.ruleFiles ?? [],
      scrape_configs: options.jobs.map((job) => ({
        job_name: job.name,
        metrics_path: '/metrics',
        static_configs: [{ targets: job.targets, labels: job.labels ?? {} }],
      })),
    },
    null,
    2,
  );
}

export async function startPrometheus(options: PrometheusOptions): Promise<TestPrometheus> {
  if (!existsSync(PROMETHEUS_BIN)) {
    throw new Error(
      `${PROMETHEUS_BIN} not found: install the Debian package "prometheus" (apt-get install prometheus) or set PROMETHEUS_BIN`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'usher-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(options));
  mkdirSync(join(dir, 'data'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  let output = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (err) => keep(Buffer.from(`spawn error: ${err.message}\n`)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await killChild(child);
    rmSync(dir, { recursive: true, force: true });
  };

  const query = async (expr: string): Promise<QueryResult> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as ApiResponse;
    if (body.status !== 'success' || !body.data) {
      return {
        status: 'error',
        errorType: body.errorType ?? `http ${res.status}`,
        error: body.error ?? '',
      };
    }
    return { status: 'success', resultType: body.data.resultType, samples: samplesOf(body.data) };
  };

  try {
    await pollUntil(
      'Prometheus ready',
      async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok,
      20_000,
      () => (isRunning(child) ? undefined : 'prometheus exited'),
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  return { url, query, output: () => output, stop };
}
