import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, labelNames } from '../support/dashboard-queries';

/** promtool ships with Prometheus (Debian/Ubuntu package `prometheus`); CI installs it. */
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const RULES_PATH = join(REPO_ROOT, 'prometheus', 'usher.rules.yml');
const RULES_TEST_PATH = join(REPO_ROOT, 'prometheus', 'usher.rules.test.yml');
const RUNBOOKS_PATH = join(REPO_ROOT, 'docs', 'runbooks.md');
const RUNBOOKS_URL = 'https://github.com/usher/usher/blob/main/docs/runbooks.md#';

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}

interface RuleTestFile {
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
}

function promtool(...args: string[]): string {
  return execFileSync(PROMTOOL, args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: 'pipe' });
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}

function runbookAnchors(): Set<string> {
  const headings = readFileSync(RUNBOOKS_PATH, 'utf8').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm);
  return new Set([...headings].map(([, heading]) => githubAnchor(heading)));
}

describe('prometheus/usher.rules.yml', () => {
  const rules = parse(readFileSync(RULES_PATH, 'utf8')) as RuleFile;
  const alerts = rules.groups.flatMap((group) => group.rules.filter((rule) => rule.alert));

  it('passes promtool check rules', () => {
    expect(promtool('check', 'rules', RULES_PATH)).toContain('SUCCESS');
  });

  it('passes its promtool unit tests (prometheus/usher.rules.test.yml)', () => {
    expect(promtool('test', 'rules', RULES_TEST_PATH)).toContain('SUCCESS');
  });

  it('defines the alerts the runbooks promise', () => {
    const names = new Set(alerts.map((rule) => rule.alert));
    for (const name of [
      'UsherDown',
      'UsherHighP99Latency',
      'UsherStoreErrors',
      'UsherDegradedMode',
      'UsherDenyRatioAnomaly',
      'UsherEventLoopLag',
      'UsherWebhookDeliveryFailures',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('gives every alert a severity, summary, description and a runbook section that exists', () => {
    const anchors = runbookAnchors();
    for (const rule of alerts) {
      const url = rule.annotations?.runbook_url ?? '';
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(critical|warning|info)$/),
      });
      expect({ alert: rule.alert, summary: rule.annotations?.summary }).toEqual({
        alert: rule.alert,
        summary: expect.stringMatching(/\S/),
      });
      expect({ alert: rule.alert, description: rule.annotations?.description }).toEqual({
        alert: rule.alert,
        description: expect.stringMatching(/\S/),
      });
      expect({ alert: rule.alert, url: url.startsWith(RUNBOOKS_URL) }).toEqual({
        alert: rule.alert,
        url: true,
      });
      expect({ alert: rule.alert, anchor: anchors.has(url.slice(RUNBOOKS_URL.length)) }).toEqual({
        alert: rule.alert,
        anchor: true,
      });
    }
  });

  it('has a firing and a quiet unit test for every alert', () => {
    const tests = parse(readFileSync(RULES_TEST_PATH, 'utf8')) as RuleTestFile;
    const cases = tests.tests.flatMap((group) => group.alert_rule_test ?? []);
    for (const name of new Set(alerts.map((rule) => rule.alert))) {
      const own = cases.filter((c) => c.alertname === name);
      expect({ name, fires: own.some((c) => (c.exp_alerts ?? []).length > 0) }).toEqual({
        name,
        fires: true,
      });
      expect({ name, quiet: own.some((c) => (c.exp_alerts ?? []).length === 0) }).toEqual({
        name,
        quiet: true,
      });
    }
  });

  it('never matches or aggregates on a user, session, device or content id', () => {
    const offending = rules.groups
      .flatMap((group) => group.rules)
      .flatMap((rule) =>
        labelNames(rule.expr).filter((label) => /user|session|device|content/i.test(label)),
      );
    expect(offending).toEqual([]);
  });
});
