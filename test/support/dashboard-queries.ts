import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Repository root, for tests that read the monitoring artefacts (grafana/, prometheus/, k8s/). */
export const REPO_ROOT = join(__dirname, '..', '..');
export const DASHBOARD_PATH = join(REPO_ROOT, 'grafana', 'dashboards', 'usher.json');

export interface DashboardTarget {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: DashboardTarget[];
  /** Panels of a collapsed row. */
  panels?: DashboardPanel[];
}

export interface DashboardVariable {
  name: string;
  type: string;
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
  query?: string | { query?: string };
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: DashboardVariable[] };
}

/**
 * What a query runner substitutes for Grafana's variables so that a dashboard query can be sent
 * to Prometheus as is: every namespace and instance, and fixed intervals. Longer names first, so
 * that no name is replaced inside another (`$__rate_interval` before `$__interval`).
 */
export const TEMPLATE_SUBSTITUTIONS: ReadonlyArray<readonly [string, string]> = [
  ['$__rate_interval', '1m'],
  ['$__interval', '1m'],
  ['$__range', '5m'],
  ['$namespace', '.*'],
  ['$instance', '.*'],
];

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
}

/** Every panel of the dashboard, rows and the panels nested in collapsed rows included. */
export function dashboardPanels(dashboard: Dashboard = loadDashboard()): DashboardPanel[] {
  const all: DashboardPanel[] = [];
  const visit = (panels: DashboardPanel[]): void => {
    for (const panel of panels) {
      all.push(panel);
      visit(panel.panels ?? []);
    }
  };
  visit(dashboard.panels);
  return all;
}

/** Every target `expr` as written in the dashboard, with Grafana variables left in place. */
export function dashboardExpressions(dashboard: Dashboard = loadDashboard()): string[] {
  return dashboardPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => target.expr),
  );
}

export function substituteTemplateVariables(expr: string): string {
  return TEMPLATE_SUBSTITUTIONS.reduce(
    (query, [name, value]) => query.split(name).join(value),
    expr,
  );
}

/** Every dashboard query, ready to run against Prometheus (see TEMPLATE_SUBSTITUTIONS). */
export function dashboardQueries(): string[] {
  return dashboardExpressions().map(substituteTemplateVariables);
}

// --- Reading PromQL just enough to check names ---------------------------------------------------

const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

const IDENTIFIER = /(?<![\w.:])[a-zA-Z_:][\w:]*/g;

function withoutStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
}

/**
 * Metric names a PromQL expression selects: identifiers that are not functions, aggregations,
 * keywords, label names (inside `{}` or a `by (...)`-style list) or durations.
 */
export function metricNames(expr: string): string[] {
  const bare = withoutStrings(expr)
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(IDENTIFIER)) {
    const name = match[0];
    const next = bare.slice((match.index ?? 0) + name.length).trimStart();
    if (PROMQL_KEYWORDS.has(name.toLowerCase()) || next.startsWith('(')) continue;
    names.add(name);
  }
  return [...names];
}

/** Label names an expression matches on (`{name=...}`) or groups by (`by (name, ...)` etc.). */
export function labelNames(expr: string): string[] {
  const plain = withoutStrings(expr);
  const names = new Set<string>();
  for (const [, matchers] of plain.matchAll(/\{([^}]*)\}/g)) {
    for (const [, name] of matchers.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) names.add(name);
  }
  const lists = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
  for (const [, list] of plain.matchAll(lists)) {
    for (const name of list.split(',').map((part) => part.trim())) if (name) names.add(name);
  }
  return [...names];
}

/** Each vector selector written with braces: the metric name and the text between the braces. */
export function vectorSelectors(expr: string): Array<{ metric: string; matchers: string }> {
  return [...expr.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)].map(([, metric, matchers]) => ({
    metric,
    matchers,
  }));
}
