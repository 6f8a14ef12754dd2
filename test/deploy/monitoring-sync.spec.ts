import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/dashboard-queries';

const read = (...path: string[]): string => readFileSync(join(REPO_ROOT, ...path), 'utf8');
const FIX = 'run `node scripts/sync-monitoring.mjs` and commit the result';

interface PrometheusRule {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { groups: unknown };
}

describe('Kubernetes copies of the monitoring (scripts/sync-monitoring.mjs)', () => {
  it('k8s/base/prometheusrule.yaml is a PrometheusRule with the groups of prometheus/usher.rules.yml', () => {
    const source = parse(read('prometheus', 'usher.rules.yml')) as { groups: unknown };
    const resource = parse(read('k8s', 'base', 'prometheusrule.yaml')) as PrometheusRule;
    expect(resource).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'usher' },
    });
    expect({ groups: resource.spec.groups, fix: FIX }).toEqual({ groups: source.groups, fix: FIX });
  });

  it('k8s/base/grafana-dashboard.json is an exact copy of grafana/dashboards/usher.json', () => {
    const copyIsExact =
      read('k8s', 'base', 'grafana-dashboard.json') === read('grafana', 'dashboards', 'usher.json');
    expect({ copyIsExact, fix: FIX }).toEqual({ copyIsExact: true, fix: FIX });
  });

  it('the generator reports both copies as current', () => {
    expect(() =>
      execFileSync(process.execPath, ['scripts/sync-monitoring.mjs', '--check'], {
        cwd: REPO_ROOT,
        stdio: 'pipe',
      }),
    ).not.toThrow();
  });
});
