/**
 * Validates rendered Kubernetes objects against the API's OpenAPI schemas, the ones
 * `kubernetes-models` compiles into validators (and `@kubernetes-models/prometheus-operator` for
 * the monitoring.coreos.com kinds).
 *
 * Those schemas leave `additionalProperties` unset, so the validators accept any unknown field:
 * `contianers` next to `containers`, or `intervall` in a ServiceMonitor endpoint, would pass.
 * The API server (strict field validation) and `kubectl apply` reject such fields, so this
 * module also does: it hands the validator a proxy of the object that records every field the
 * validator reads. A compiled validator reads exactly the fields its schema declares (and every
 * key of a map-typed field such as labels or ConfigMap data), so a field it never read is one
 * the schema does not know.
 */
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as coreV1 from 'kubernetes-models/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';

interface ModelClass {
  prototype: { validate(): void };
}

/** The API groups/versions manifests here may use; add one when a manifest needs it. */
const GROUP_VERSIONS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'batch/v1': batchV1,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'rbac.authorization.k8s.io/v1': rbacV1,
  'monitoring.coreos.com/v1': monitoringV1,
};

function modelOf(apiVersion: unknown, kind: unknown): ModelClass | undefined {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  const model = GROUP_VERSIONS[apiVersion]?.[kind];
  return typeof model === 'function' && 'prototype' in model ? (model as ModelClass) : undefined;
}

interface Tracked {
  path: string;
  value: object;
  read: Set<string>;
}

/** A deep proxy of `value` whose every object records the keys read from it into `seen`. */
function track(value: unknown, path: string, seen: Tracked[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  const read = new Set<string>();
  const copy: unknown = Array.isArray(value)
    ? value.map((item, i) => track(item, `${path}[${i}]`, seen))
    : Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, track(item, `${path}.${key}`, seen)]),
      );
  seen.push({ path, value, read });
  return new Proxy(copy as object, {
    get(target, key, receiver) {
      if (typeof key === 'string') read.add(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

/**
 * Every problem with `manifest` as the Kubernetes API would see it: schema violations (missing
 * required fields, wrong types, bad enum values) and fields the schema does not declare. Empty
 * when the object is valid.
 */
export function schemaProblems(manifest: Record<string, unknown>): string[] {
  const { apiVersion, kind } = manifest;
  const model = modelOf(apiVersion, kind);
  if (!model) return [`no schema for apiVersion ${String(apiVersion)} kind ${String(kind)}`];

  const seen: Tracked[] = [];
  const proxy = track(manifest, '', seen);
  const problems: string[] = [];
  try {
    model.prototype.validate.call(proxy);
  } catch (err) {
    problems.push((err as Error).message);
  }
  const unknown = seen
    .filter((t) => !Array.isArray(t.value))
    .flatMap((t) =>
      Object.keys(t.value)
        .filter((k) => !t.read.has(k))
        .map((k) => `${t.path}.${k}`),
    );
  // Report an unknown field once, not again for everything under it.
  for (const path of unknown) {
    if (!unknown.some((other) => path.startsWith(`${other}.`) || path.startsWith(`${other}[`))) {
      problems.push(`unknown field ${path.slice(1)}`);
    }
  }
  return problems;
}
