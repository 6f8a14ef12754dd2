// The bench's configuration: every BENCH_* variable (docs/performance.md, "How to reproduce"),
// parsed and checked once into one frozen object, and the constants every phase shares.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PHASE_NAMES = [
  'closed',
  'cpu',
  'open',
  'search',
  'admission',
  'redis',
  'churn',
  'scale',
];
/** The phases that offer load through the open-loop generator (which needs `cc`). */
export const OPEN_LOOP_PHASES = ['cpu', 'open', 'search', 'churn', 'scale'];

/** The license-server token every server is sent (usher checks it; the references do not). */
export const TOKEN = 'bench-license-server-token';
/** Key prefixes, each five characters: the same key sizes on every side. */
export const PREFIXES = Object.freeze({
  usher: 'usher',
  baseline: 'usbas',
  raw: 'usraw',
  floor: 'usflr',
});
/** The closed- and open-loop population: 2 live sessions per user, renewal-heavy. */
export const MIX_POPULATION = Object.freeze({ users: 25_000, perUser: 2, releasePool: 20_000 });
export const P99_TARGET_MS = 5;
/** Other processes plus steal below this (cores) count as a quiet machine ... */
export const QUIET_CORES = 0.15;
/** ... and above this during a run, as a disturbed one (measured again with BENCH_QUIET_WAIT_S). */
export const DISTURBED_CORES = 0.25;

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function number(env, name, fallback, { min = 0, integer = false } = {}) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`${name}=${raw}: expected ${integer ? 'an integer' : 'a number'} ≥ ${min}`);
  }
  return n;
}

const words = (s) => (s ?? '').split(/\s+/).filter(Boolean);

function phases(env) {
  const list = (env.BENCH_PHASES ?? PHASE_NAMES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = list.filter((p) => !PHASE_NAMES.includes(p));
  if (unknown.length) {
    throw new Error(
      `BENCH_PHASES: unknown ${unknown.join(', ')} (phases: ${PHASE_NAMES.join(',')})`,
    );
  }
  return Object.freeze(PHASE_NAMES.filter((p) => list.includes(p)));
}

/** Reads the configuration from `env` (process.env by default). */
export function readConfig(env = process.env) {
  const quick = env.BENCH_QUICK === '1';
  const durationS = number(env, 'BENCH_DURATION_S', quick ? 3 : 10, { min: 1 });
  return Object.freeze({
    root: ROOT,
    /** The usher under test: its dist/ is what usher, the raw reference and the loader run. */
    usherRoot: resolve(env.BENCH_USHER_ROOT ?? ROOT),
    /** A second usher checkout run beside the first in the closed loop, or null. */
    baselineRoot: env.BENCH_BASELINE_ROOT ? resolve(env.BENCH_BASELINE_ROOT) : null,
    quick,
    phases: phases(env),
    durationS,
    warmupS: Math.max(1, Math.min(3, Math.round(durationS / 3))),
    connections: number(env, 'BENCH_CONNECTIONS', 32, { min: 1, integer: true }),
    rate: number(env, 'BENCH_RATE', 5000, { min: 1 }),
    cpuRate: number(env, 'BENCH_CPU_RATE', 2000, { min: 1 }),
    scaleRate: number(env, 'BENCH_SCALE_RATE', 2000, { min: 1 }),
    churnRate: number(env, 'BENCH_CHURN_RATE', 1000, { min: 1 }),
    churnRequests: quick ? 2_000 : 10_000,
    scaleSmall: 10_000,
    scaleLarge: number(env, 'BENCH_SCALE_MAX', quick ? 100_000 : 1_000_000, {
      min: 2,
      integer: true,
    }),
    rounds: number(env, 'BENCH_ROUNDS', quick ? 1 : 3, { min: 1, integer: true }),
    searchSteps: quick ? 3 : 5,
    searchStepS: Math.max(3, Math.round(durationS / 2)),
    admissionRounds: quick ? 20 : 100,
    redisCostRounds: quick ? 2 : 9,
    profile: env.BENCH_PROFILE === '1',
    quietWaitS: number(env, 'BENCH_QUIET_WAIT_S', 0),
    redisArgs: Object.freeze(words(env.BENCH_REDIS_ARGS)),
    usherNodeFlags: Object.freeze(words(env.BENCH_USHER_NODE_FLAGS)),
    /** Node flags of the raw and floor references. */
    referenceNodeFlags: Object.freeze(words(env.BENCH_RAW_NODE_FLAGS)),
    referenceAutoPipelining: env.BENCH_RAW_AUTOPIPELINING === '1',
    skipBuild: env.BENCH_SKIP_BUILD === '1',
  });
}
