/**
 * The deploy manifests (k8s/, Dockerfile) hold the operational promises of docs/deploy.md: probes
 * on the health endpoints, a hardened pod, a graceful shutdown window, the plans file and secrets
 * where the service looks for them. These tests render every kustomization with
 * `kubectl kustomize` (offline), validate every rendered object against the Kubernetes OpenAPI
 * schemas (unknown fields included) and check those promises; the rendered configuration is also
 * fed to the service's own config loader, so a manifest the service would refuse fails here first.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load-config';
import { parsePlanCatalog } from '../../src/config/plan';
import { schemaProblems } from '../support/k8s-schema';

const ROOT = join(__dirname, '..', '..');
const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const SECRET_NAME = 'usher-secrets';
const UID = 10001;

interface Metadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
  seccompProfile?: { type: string };
}
interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  emptyDir?: Record<string, unknown>;
}
interface PodSpec {
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext;
  topologySpreadConstraints?: { topologyKey: string }[];
  containers: Container[];
  volumes?: Volume[];
}
interface Workload extends Manifest {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: Metadata; spec: PodSpec };
    volumeClaimTemplates?: Manifest[];
  };
}
interface Port {
  port?: number | string;
  protocol?: string;
}

function render(dir: string): Manifest[] {
  const out = execFileSync(KUBECTL, ['kustomize', join(ROOT, dir)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((doc) => {
    const value = doc.toJS() as Manifest | null;
    if (!value?.kind || !value.metadata?.name) throw new Error(`${dir}: a document has no kind`);
    return value;
  });
}

/** The one object of a kind named `name`, or `name-<hash>` when a kustomize generator made it. */
function find<T extends Manifest>(all: Manifest[], kind: string, name: string): T {
  const named = new RegExp(`^${name}(-[a-z0-9]{10})?$`);
  const found = all.filter((m) => m.kind === kind && named.test(m.metadata.name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as T;
}

function usherPod(all: Manifest[]): { pod: PodSpec; container: Container } {
  const pod = find<Workload>(all, 'Deployment', 'usher').spec.template.spec;
  const container = pod.containers.find((c) => c.name === 'usher');
  if (!container) throw new Error('the usher Deployment has no container named usher');
  return { pod, container };
}

/** The process environment the container gets: envFrom ConfigMaps, then env values. */
function containerEnv(all: Manifest[], container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef;
    if (ref) Object.assign(env, find(all, 'ConfigMap', ref.name).data);
  }
  for (const { name, value } of container.env ?? []) if (value !== undefined) env[name] = value;
  return env;
}

const cpuMillis = (q: string): number =>
  q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000;

function preStopSleepSeconds(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const [cmd, seconds] = preStop?.exec?.command ?? [];
  return cmd === 'sleep' ? Number(seconds) : NaN;
}

const ports = (rules: { ports?: Port[] }[] | undefined): string[] =>
  (rules ?? []).flatMap((r) => (r.ports ?? []).map((p) => `${p.protocol ?? 'TCP'}/${p.port}`));

const VARIANTS = ['k8s/base', 'k8s/overlays/dev', 'k8s/overlays/production'] as const;
// Every kustomization there is, so a new overlay is schema-checked without being listed here.
const ALL_KUSTOMIZATIONS = [
  'k8s/base',
  ...readdirSync(join(ROOT, 'k8s/overlays'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `k8s/overlays/${entry.name}`),
];
const rendered = new Map<string, Manifest[]>(
  [...new Set([...VARIANTS, ...ALL_KUSTOMIZATIONS])].map((dir) => [dir, render(dir)]),
);
const get = (dir: string): Manifest[] => rendered.get(dir) ?? [];
const clone = <T>(value: T): T => structuredClone(value);
// The content hash kustomize appends to generated ConfigMap and Secret names.
const HASH = /-[a-z0-9]{10}$/;

describe.each(ALL_KUSTOMIZATIONS)('%s against the Kubernetes OpenAPI schemas', (dir) => {
  it.each(get(dir).map((m) => [`${m.kind} ${m.metadata.name.replace(HASH, '')}`, m] as const))(
    '%s is valid and has no unknown field',
    (_name, manifest) => {
      expect(schemaProblems(manifest as unknown as Record<string, unknown>)).toEqual([]);
    },
  );
});

describe('the schema check', () => {
  const all = get('k8s/base');
  const problemsAfter = (kind: string, name: string, edit: (m: Workload) => void): string[] => {
    const manifest = clone(find<Workload>(all, kind, name));
    edit(manifest);
    return schemaProblems(manifest as unknown as Record<string, unknown>);
  };

  it('fails a misspelt field name, required or optional, at any depth', () => {
    const renamed = problemsAfter('Deployment', 'usher', (d) => {
      const spec = d.spec.template.spec as unknown as Record<string, unknown>;
      spec.contianers = spec.containers;
      delete spec.containers;
    });
    expect(renamed).toEqual([
      expect.stringContaining('must have required property containers'),
      'unknown field spec.template.spec.contianers',
    ]);
    const alongside = problemsAfter('Deployment', 'usher', (d) => {
      Object.assign(d.spec.template.spec.containers[0], { imagePullPolicyy: 'Always' });
    });
    expect(alongside).toEqual(['unknown field spec.template.spec.containers[0].imagePullPolicyy']);
    const top = problemsAfter('Service', 'usher', (s) => Object.assign(s, { spce: {} }));
    expect(top).toEqual(['unknown field spce']);
  });

  it('fails a misspelt field of the prometheus-operator kinds', () => {
    const monitor = problemsAfter('ServiceMonitor', 'usher', (m) => {
      const endpoints = (m.spec as unknown as { endpoints: Record<string, unknown>[] }).endpoints;
      endpoints[0].intervall = '15s';
    });
    expect(monitor).toEqual(['unknown field spec.endpoints[0].intervall']);
  });

  it('fails a wrong type, and a kind it has no schema for', () => {
    const replicas = problemsAfter('Deployment', 'usher', (d) => {
      Object.assign(d.spec, { replicas: 'two' });
    });
    expect(replicas).toEqual([expect.stringContaining('replicas must be integer')]);
    expect(schemaProblems({ apiVersion: 'example.com/v1', kind: 'Widget' })).toEqual([
      'no schema for apiVersion example.com/v1 kind Widget',
    ]);
  });

  it('accepts any key in map-typed fields (labels, annotations, ConfigMap data)', () => {
    const labelled = problemsAfter('Deployment', 'usher', (d) => {
      d.metadata.labels = { ...d.metadata.labels, 'example.com/any-key': 'x' };
    });
    expect(labelled).toEqual([]);
  });
});

describe.each(VARIANTS)('%s renders a deployable usher', (dir) => {
  const all = get(dir);
  const { pod, container } = usherPod(all);

  it('holds the Service, HPA, PDB, NetworkPolicy, ServiceMonitor, PrometheusRule and dashboard', () => {
    for (const [kind, name] of [
      ['Service', 'usher'],
      ['HorizontalPodAutoscaler', 'usher'],
      ['PodDisruptionBudget', 'usher'],
      ['NetworkPolicy', 'usher'],
      ['ServiceMonitor', 'usher'],
      ['PrometheusRule', 'usher'],
      ['ConfigMap', 'usher-grafana-dashboard'],
      ['ConfigMap', 'usher-plans'],
    ]) {
      expect(() => find(all, kind, name)).not.toThrow();
    }
  });

  it('probes readiness on /health/ready, liveness and start-up on /health/live', () => {
    expect(container.readinessProbe?.httpGet?.path).toBe('/health/ready');
    expect(container.livenessProbe?.httpGet?.path).toBe('/health/live');
    expect(container.startupProbe?.httpGet?.path).toBe('/health/live');
  });

  it('runs as uid 10001, non-root, read-only, without privileges or capabilities', () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: UID });
    expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('leaves the endpoints before SIGTERM and drains within the termination grace period', () => {
    const sleep = preStopSleepSeconds(container);
    const drain = Number(containerEnv(all, container).USHER_SHUTDOWN_GRACE_MS) / 1000;
    expect(sleep).toBeGreaterThanOrEqual(5);
    expect(drain).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(sleep + drain);
  });

  it('sets cpu and memory requests and limits', () => {
    for (const kind of ['requests', 'limits'] as const) {
      expect(Object.keys(container.resources?.[kind] ?? {}).sort()).toEqual(['cpu', 'memory']);
    }
  });

  it('spreads pods across zones and hostnames and is scraped on /metrics', () => {
    const keys = (pod.topologySpreadConstraints ?? []).map((c) => c.topologyKey);
    expect(keys).toEqual(
      expect.arrayContaining(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']),
    );
    const annotations = find<Workload>(all, 'Deployment', 'usher').spec.template.metadata;
    expect(annotations.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '8080',
      'prometheus.io/path': '/metrics',
    });
    expect(find(all, 'ServiceMonitor', 'usher').spec).toMatchObject({
      endpoints: [{ port: 'http', path: '/metrics', interval: '15s' }],
    });
  });

  it('mounts the plans ConfigMap at /app/config, secrets as files and an emptyDir at /tmp', () => {
    const volume = (mountPath: string): Volume | undefined => {
      const mount = container.volumeMounts?.find((m) => m.mountPath === mountPath);
      return pod.volumes?.find((v) => v.name === mount?.name);
    };
    const plans = volume('/app/config')?.configMap?.name ?? '';
    expect(find(all, 'ConfigMap', plans).data).toHaveProperty(['plans.yaml']);
    expect(containerEnv(all, container).USHER_PLANS_FILE).toBe('/app/config/plans.yaml');
    expect(volume('/etc/usher/secrets')?.secret?.secretName).toMatch(/^usher-secrets/);
    expect(volume('/tmp')?.emptyDir).toBeDefined();
    const env = containerEnv(all, container);
    for (const name of ['USHER_LICENSE_SERVER_TOKENS', 'USHER_ADMIN_TOKENS']) {
      expect(env[name]).toBeUndefined();
      expect(env[`${name}_FILE`]).toMatch(/^\/etc\/usher\/secrets\//);
    }
  });

  it('serves port 80 to the named container port and covers the pods with HPA and PDB', () => {
    const labels = find<Workload>(all, 'Deployment', 'usher').spec.template.metadata.labels;
    const service = find(all, 'Service', 'usher').spec;
    expect(service).toMatchObject({ ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
    expect(labels).toMatchObject(service?.selector as Record<string, string>);
    const pdb = find(all, 'PodDisruptionBudget', 'usher').spec ?? {};
    expect(labels).toMatchObject((pdb.selector as Workload['spec']['selector']).matchLabels);
    expect(pdb.maxUnavailable ?? pdb.minAvailable).toBeDefined();
    const hpa = find(all, 'HorizontalPodAutoscaler', 'usher');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { kind: 'Deployment', name: 'usher' },
      metrics: [{ resource: { name: 'cpu', target: { averageUtilization: 60 } } }],
      behavior: { scaleDown: { stabilizationWindowSeconds: expect.any(Number) } },
    });
  });

  it('admits traffic only from license-server and monitoring namespaces on 8080', () => {
    const policy = find(all, 'NetworkPolicy', 'usher').spec ?? {};
    const ingress = policy.ingress as { from: Record<string, unknown>[]; ports: Port[] }[];
    expect(ingress.flatMap((r) => r.from)).toEqual([
      { namespaceSelector: { matchLabels: { 'usher.io/license-servers': 'true' } } },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    expect(ports(ingress)).toEqual(['TCP/8080']);
    expect(ports(policy.egress as { ports?: Port[] }[])).toEqual(
      expect.arrayContaining(['TCP/6379', 'TCP/26379', 'TCP/16379', 'UDP/53', 'TCP/443']),
    );
  });

  it('ships the Grafana dashboard under a stable name with the sidecar label', () => {
    const dashboard = all.find((m) => m.metadata.name === 'usher-grafana-dashboard');
    expect(dashboard?.metadata.labels?.grafana_dashboard).toBe('1');
    const [file, json] = Object.entries(dashboard?.data ?? {})[0] ?? [];
    expect(file).toMatch(/\.json$/);
    expect(() => JSON.parse(json ?? '')).not.toThrow();
  });
});

describe.each(['k8s/overlays/dev', 'k8s/overlays/production'])('%s', (dir) => {
  it('is accepted by the service configuration loader in production mode', () => {
    const all = get(dir);
    const { pod, container } = usherPod(all);
    const env = containerEnv(all, container);
    expect(env.NODE_ENV).toBe('production');
    // Lay the pod's ConfigMap and Secret volumes out on disk; the production Secret is created
    // out of band, so its keys come from the documented template.
    const root = mkdtempSync(join(tmpdir(), 'usher-k8s-'));
    try {
      for (const mount of container.volumeMounts ?? []) {
        const volume = pod.volumes?.find((v) => v.name === mount.name);
        const files = volume?.configMap
          ? find(all, 'ConfigMap', volume.configMap.name).data
          : volume?.secret
            ? secretFiles(all, volume.secret.secretName)
            : {};
        for (const [file, content] of Object.entries(files ?? {})) {
          const path = join(root, mount.mountPath, file);
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, content);
        }
      }
      const local = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, v.startsWith('/') ? join(root, v) : v]),
      );
      const config = loadConfig(local);
      expect(config.production).toBe(true);
      expect(config.licenseServerTokens.length).toBeGreaterThan(0);
      expect(config.plans.plans.length).toBeGreaterThan(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

function secretFiles(all: Manifest[], name: string): Record<string, string> {
  const secret = all.find((m) => m.kind === 'Secret' && m.metadata.name === name);
  if (secret) {
    const data = secret.data ?? {};
    return Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
  }
  expect(name).toBe(SECRET_NAME);
  const example = parse(readFileSync(join(ROOT, 'k8s/base/secret.example.yaml'), 'utf8')) as {
    stringData: Record<string, string>;
  };
  return Object.fromEntries(Object.keys(example.stringData).map((k) => [k, `example-${k}`]));
}

describe('k8s/overlays/dev', () => {
  const all = get('k8s/overlays/dev');

  it('runs one usher pod in usher-dev against an in-namespace Redis with AOF persistence', () => {
    expect(all.every((m) => m.kind === 'Namespace' || m.metadata.namespace === 'usher-dev')).toBe(
      true,
    );
    expect(find<Workload>(all, 'Deployment', 'usher').spec.replicas).toBe(1);
    expect(find(all, 'HorizontalPodAutoscaler', 'usher').spec?.minReplicas).toBe(1);
    const redis = find<Workload>(all, 'StatefulSet', 'usher-redis');
    const args = redis.spec.template.spec.containers[0].args ?? [];
    expect(args[args.indexOf('--appendonly') + 1]).toBe('yes');
    expect(redis.spec.volumeClaimTemplates?.length).toBe(1);
    expect(find(all, 'Service', 'usher-redis').spec).toMatchObject({ ports: [{ port: 6379 }] });
    expect(containerEnv(all, usherPod(all).container).REDIS_URL).toBe('redis://usher-redis:6379');
  });

  it('generates only obviously-dev secret values', () => {
    const files = secretFiles(all, find(all, 'Secret', SECRET_NAME).metadata.name);
    expect(Object.keys(files).length).toBeGreaterThan(0);
    for (const value of Object.values(files)) expect(value).toMatch(/^dev-/);
  });
});

describe('k8s/overlays/production', () => {
  const all = get('k8s/overlays/production');
  const { container } = usherPod(all);

  it('uses the external Redis Cluster in fail-open mode in namespace usher', () => {
    expect(all.every((m) => m.kind === 'Namespace' || m.metadata.namespace === 'usher')).toBe(true);
    const env = containerEnv(all, container);
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.REDIS_CLUSTER_NODES.split(',').length).toBeGreaterThanOrEqual(3);
    expect(env.REDIS_CLUSTER_NODES).toMatch(/^([\w.-]+:\d+)(,[\w.-]+:\d+)*$/);
    expect(env.USHER_FAIL_MODE).toBe('open');
  });

  it('carries no Secret: the real one is created out of band', () => {
    expect(all.filter((m) => m.kind === 'Secret')).toEqual([]);
  });

  it('leaves the replica count to an HPA sized above the base, with larger pods', () => {
    const base = get('k8s/base');
    expect(find<Workload>(all, 'Deployment', 'usher').spec.replicas).toBeUndefined();
    const min = (m: Manifest[]) =>
      Number(find(m, 'HorizontalPodAutoscaler', 'usher').spec?.minReplicas);
    expect(min(all)).toBeGreaterThan(min(base));
    const cpu = (c: Container) => cpuMillis(c.resources?.requests?.cpu ?? '0');
    expect(cpu(container)).toBeGreaterThan(cpu(usherPod(base).container));
  });
});

describe('k8s/base/plans.yaml', () => {
  it('is a valid plans file with basic, standard, premium and family', () => {
    const doc: unknown = parse(readFileSync(join(ROOT, 'k8s/base/plans.yaml'), 'utf8'));
    const { catalog, problems } = parsePlanCatalog(doc, 'k8s/base/plans.yaml');
    expect(problems).toEqual([]);
    const plans = Object.fromEntries((catalog?.plans ?? []).map((p) => [p.name, p]));
    expect(catalog?.defaultPlan).toBe('basic');
    expect(plans.basic).toMatchObject({ maxStreams: 1, countBy: 'session' });
    expect(plans.standard).toMatchObject({ maxStreams: 2 });
    expect(plans.premium).toMatchObject({ maxStreams: 4, countBy: 'device' });
    expect(plans.family).toMatchObject({ maxStreams: 4, onLimit: 'evict-oldest' });
  });
});

describe('Dockerfile', () => {
  // Instructions with continuation lines joined and comments dropped.
  const instructions = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
  const lastFrom = instructions.map((i) => i.op).lastIndexOf('FROM');
  const runtime = instructions.slice(lastFrom);
  const of = (op: string) => runtime.filter((i) => i.op === op).map((i) => i.args);

  it('builds in one stage and runs from a separate stage with production deps only', () => {
    expect(instructions.filter((i) => i.op === 'FROM').length).toBeGreaterThanOrEqual(2);
    const runs = instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /npm (prune|ci)\b.*--omit=dev/.test(r))).toBe(true);
    for (const copy of of('COPY')) {
      expect(copy).toMatch(/(dist|node_modules|package\.json|config\/plans\.yaml)\s+\S+$/);
    }
  });

  it('runs node dist/main.js as the non-root uid the Deployment expects, in production', () => {
    expect(of('USER').at(-1)?.split(':')[0]).toBe(String(UID));
    expect(of('ENV').join(' ')).toMatch(/\bNODE_ENV=production\b/);
    expect(of('EXPOSE')).toEqual(['8080']);
    // The same command, V8 flags included, as `npm run start:prod` (and so the bench's usher).
    const startProd = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts[
      'start:prod'
    ] as string;
    expect(JSON.parse(of('CMD').at(-1) ?? '')).toEqual(startProd.split(' '));
    expect(startProd).toMatch(/^node (--\S+ )*dist\/main\.js$/);
  });

  it('builds offline: no `# syntax=` directive, which makes BuildKit pull a frontend image', () => {
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).not.toMatch(/^#\s*syntax\s*=/im);
  });

  it('has no HEALTHCHECK (Kubernetes probes the health endpoints)', () => {
    expect(instructions.some((i) => i.op === 'HEALTHCHECK')).toBe(false);
  });

  it('keeps node_modules, .git and local env files out of the build context', () => {
    const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split(/\r?\n/);
    const allowList = rules.includes('*');
    for (const path of ['node_modules', '.git', '.env']) {
      expect(allowList ? !rules.includes(`!${path}`) : rules.includes(path)).toBe(true);
    }
  });
});
