import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  REPO_ROOT,
  dashboardExpressions,
  dashboardPanels,
  dashboardQueries,
  labelNames,
  loadDashboard,
  metricNames,
  substituteTemplateVariables,
  vectorSelectors,
} from '../support/dashboard-queries';

/** usher's metrics (docs/metrics.md, "Catalogue") and the prom-client defaults the dashboard may use. */
const HISTOGRAMS = [
  'usher_heartbeat_duration_seconds',
  'usher_store_duration_seconds',
  'usher_webhook_delivery_duration_seconds',
  'nodejs_gc_duration_seconds',
];
const KNOWN_METRICS = new Set([
  'usher_heartbeats_total',
  'usher_store_errors_total',
  'usher_degraded_decisions_total',
  'usher_evictions_total',
  'usher_shadow_denials_total',
  'usher_active_slots',
  'usher_plan_max_streams',
  'usher_webhook_deliveries_total',
  'usher_events_dropped_total',
  ...HISTOGRAMS.flatMap((name) => ['_bucket', '_sum', '_count'].map((suffix) => name + suffix)),
  'process_cpu_seconds_total',
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_start_time_seconds',
  'process_resident_memory_bytes',
  'process_virtual_memory_bytes',
  'process_heap_bytes',
  'process_open_fds',
  'process_max_fds',
  'nodejs_eventloop_lag_seconds',
  ...['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'].map(
    (stat) => `nodejs_eventloop_lag_${stat}_seconds`,
  ),
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_heap_space_size_total_bytes',
  'nodejs_heap_space_size_used_bytes',
  'nodejs_heap_space_size_available_bytes',
  'nodejs_version_info',
]);

/** Label names that would carry a user, session, device or content id (docs/metrics.md forbids them). */
const ID_LABEL = /user|session|device|content/i;

function recordingRuleNames(): string[] {
  const rules = parse(readFileSync(join(REPO_ROOT, 'prometheus', 'usher.rules.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ record?: string }> }>;
  };
  return rules.groups.flatMap((group) =>
    group.rules.flatMap((rule) => (rule.record ? [rule.record] : [])),
  );
}

describe('grafana/dashboards/usher.json', () => {
  const dashboard = loadDashboard();
  const panels = dashboardPanels(dashboard);
  const expressions = dashboardExpressions(dashboard);

  it('is the usher-overview dashboard with queries to check', () => {
    expect(dashboard.uid).toBe('usher-overview');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(expressions.length).toBeGreaterThan(20);
  });

  it('offers the datasource, namespace and instance template variables', () => {
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const namespace = variables.get('namespace');
    expect(namespace?.type).toBe('query');
    expect(JSON.stringify(namespace?.query)).toContain('usher_heartbeats_total');
    const instance = variables.get('instance');
    expect(instance).toMatchObject({ type: 'query', multi: true, includeAll: true });
    expect(JSON.stringify(instance?.query)).toContain('namespace=~\\"$namespace\\"');
  });

  it('reads every panel and every target from the ${datasource} variable', () => {
    for (const panel of panels) {
      expect({ panel: panel.title, uid: panel.datasource?.uid }).toEqual({
        panel: panel.title,
        uid: '${datasource}',
      });
      for (const target of panel.targets ?? []) {
        expect({ panel: panel.title, uid: target.datasource?.uid }).toEqual({
          panel: panel.title,
          uid: '${datasource}',
        });
      }
    }
  });

  it('gives every panel a unique id and every target a unique refId within its panel', () => {
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
    }
  });

  it('queries only known usher, process and nodejs metrics or recording rules', () => {
    const allowed = new Set([...KNOWN_METRICS, ...recordingRuleNames()]);
    const unknown = expressions.flatMap((expr) =>
      metricNames(expr)
        .filter((name) => !allowed.has(name))
        .map((name) => `${name} in ${expr}`),
    );
    expect(unknown).toEqual([]);
  });

  it('filters every selector by the namespace and instance variables', () => {
    const unfiltered: string[] = [];
    for (const expr of expressions) {
      const selectors = vectorSelectors(expr);
      for (const name of metricNames(expr)) {
        if (!selectors.some((selector) => selector.metric === name)) unfiltered.push(expr);
      }
      for (const { metric, matchers } of selectors) {
        if (
          !matchers.includes('namespace=~"$namespace"') ||
          !matchers.includes('instance=~"$instance"')
        ) {
          unfiltered.push(`${metric}{${matchers}}`);
        }
      }
    }
    expect(unfiltered).toEqual([]);
  });

  it('never matches or groups on a user, session, device or content id', () => {
    const offending = expressions.flatMap((expr) =>
      labelNames(expr)
        .filter((label) => ID_LABEL.test(label))
        .map((label) => `${label} in ${expr}`),
    );
    expect(offending).toEqual([]);
  });

  it('hands the query runner plain PromQL with every Grafana variable substituted', () => {
    const queries = dashboardQueries();
    expect(queries).toHaveLength(expressions.length);
    for (const query of queries) expect(query).not.toMatch(/\$/);
    expect(
      substituteTemplateVariables(
        'rate(x{namespace=~"$namespace", instance=~"$instance"}[$__rate_interval]) + y[$__range]',
      ),
    ).toBe('rate(x{namespace=~".*", instance=~".*"}[1m]) + y[5m]');
  });
});

describe('PromQL name extraction used by these checks', () => {
  it('tells metric names from functions, keywords, labels and durations', () => {
    const expr =
      'histogram_quantile(0.99, sum by (plan, le) (rate(a_bucket{x="y"}[5m] offset 1h))) ' +
      'or on() vector(0) / scalar(sum(b_total)) and bool c:rule:rate5m';
    expect(metricNames(expr).sort()).toEqual(['a_bucket', 'b_total', 'c:rule:rate5m']);
    expect(labelNames(expr).sort()).toEqual(['le', 'plan', 'x']);
  });
});
