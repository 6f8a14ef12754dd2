// The bench workload: id shapes, the bench plan, request bodies for the renewal-heavy mix, and
// the script (the very lib.lua + heartbeat.lua usher registers, from dist/) with its ARGV.
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const BENCH_PLAN = {
  name: 'bench',
  // The highest limit a plan may have (docs/admin-api.md): admissions of new sessions never hit it.
  maxStreams: 100,
  countBy: 'session',
  onLimit: 'reject-new',
  // Long-lived slots, so a million bulk-loaded sessions stay live for the whole run.
  renewalIntervalSeconds: 3600,
  graceSeconds: 600,
};

/** The limit-2 plan of the over-admission check (bench/phases/admission.mjs). */
export const PAIR_PLAN = { ...BENCH_PLAN, name: 'pair', maxStreams: 2 };
/** The limit-2 evict-oldest plan of the churn phase's churner (a new session id each time). */
export const CHURN_PLAN = { ...BENCH_PLAN, name: 'churn', maxStreams: 2, onLimit: 'evict-oldest' };
/** Every plan the bench's usher and raw reference know, default first (the plan table's order). */
export const BENCH_PLANS = [BENCH_PLAN, PAIR_PLAN, CHURN_PLAN];

export function plansYaml(plans = BENCH_PLANS) {
  const lines = [`defaultPlan: ${plans[0].name}`, 'plans:'];
  for (const p of plans) {
    lines.push(`  ${p.name}:`);
    for (const field of [
      'maxStreams',
      'countBy',
      'onLimit',
      'renewalIntervalSeconds',
      'graceSeconds',
    ]) {
      lines.push(`    ${field}: ${p[field]}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The bounds usher applies by default (USHER_MAX_ENTRIES_PER_USER, USHER_MAX_SESSIONS_PER_DEVICE). */
const DEFAULT_BOUNDS = { maxEntriesPerUser: 64, maxSessionsPerDevice: 8 };

/** The first of `paths` that `require` finds. */
function requireFirst(require, paths) {
  for (const path of paths) {
    try {
      return require(path);
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND' || path === paths.at(-1)) throw err;
    }
  }
}

/**
 * What usher's own build says about the script and its arguments: the Lua text (includes
 * resolved), the plan-table encoding, the key layout and the very KEYS + ARGV builder usher
 * calls, all from dist/, so the raw reference and the bulk loader cannot drift from usher.
 * `lua` is the heartbeat script for BENCH_PLANS and `args(prefix, heartbeat)` the KEYS then ARGV
 * of one call of it; `numberOfKeys` goes with them.
 * `licensePolicy(type, plan)` is the licence policy every allow answer carries; `fastRenewal(plan,
 * count)` completes the script's short answer to a fast renewal.
 */

export function loadUsherScript(root) {
  const dist = join(root, 'dist');
  const require = createRequire(join(dist, 'main.js'));
  // Where a build keeps a module moved across commits (a baseline may be an older build).
  const { encodePlanTable } = requireFirst(require, [
    './sessions/plan-table.js',
    './plans/plan-registry.js',
  ]);
  const { userKeys, scriptKeys } = requireFirst(require, [
    './redis/user-keys.js',
    './sessions/session-keys.js',
  ]);
  const {
    loadSessionScripts,
    heartbeatScript,
    heartbeatScriptArgs,
    fastRenewalPlan,
    fastRenewal,
  } = require('./sessions/heartbeat-script.js');
  const { licensePolicy } = require('./heartbeat/license-policy.js');
  if (
    ![
      encodePlanTable,
      userKeys,
      scriptKeys,
      loadSessionScripts,
      heartbeatScriptArgs,
      fastRenewalPlan,
      fastRenewal,
      licensePolicy,
    ].every((f) => typeof f === 'function')
  ) {
    throw new Error('dist/ no longer exports what bench/lib/workload.mjs needs: update it');
  }
  const body = loadSessionScripts().usherHeartbeat;
  const table = encodePlanTable(BENCH_PLANS);
  const numberOfKeys = scriptKeys(userKeys('p', 'u')).length;
  const fastPlan = (heartbeat) => {
    const plan = BENCH_PLANS.find((p) => p.name === heartbeat.plan) ?? BENCH_PLANS[0];
    return fastRenewalPlan(heartbeat, plan);
  };
  // A build whose heartbeat script carries the plans as constants (heartbeatScript), or an
  // older one (a baseline) that takes them as arguments on every call.
  const lua = heartbeatScript
    ? heartbeatScript(body, table, BENCH_PLANS[0].name, DEFAULT_BOUNDS)
    : body;
  const args = heartbeatScript
    ? (prefix, heartbeat) => heartbeatScriptArgs(prefix, heartbeat, fastPlan(heartbeat))
    : (prefix, heartbeat) =>
        heartbeatScriptArgs(
          prefix,
          heartbeat,
          BENCH_PLANS[0].name,
          table,
          DEFAULT_BOUNDS,
          fastPlan(heartbeat),
        );
  return { lua, numberOfKeys, args, encodePlanTable, userKeys, licensePolicy, fastRenewal };
}

// ---- ids ---------------------------------------------------------------------------------------
// Shapes of production ids (documented in docs/performance.md): a UUID-shaped userId and deviceId,
// a Widevine session id (16 bytes as 32 hex characters) and a short content id.
const hex = (n, width) => n.toString(16).padStart(width, '0');
const uuidShaped = (tag, n) => {
  const h = tag + hex(n, 31);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};
export const userId = (u) => uuidShaped('a', u);
export const deviceId = (u, d) => uuidShaped('d', u * 8 + d);
export const contentId = (n) => `title-${hex(n % 100_000, 6)}`;
/** Session j of user u (preloaded, renewed by the mix). */
export const sessionId = (u, j) => `${hex(u, 24)}${hex(j, 8)}`;
/** Sessions admitted during a run: a different leading nibble keeps them apart. */
export const newSessionId = (n) => `f${hex(n, 31)}`;
/** Sessions preloaded only to be released. */
export const releaseSessionId = (n) => `e${hex(n, 31)}`;

export function body(messageType, user, session, device, content) {
  return `{"userId":"${user}","drm":"widevine","messageType":"${messageType}","sessionId":"${session}","deviceId":"${device}","contentId":"${content}"}`;
}

// ---- the renewal-heavy mix ---------------------------------------------------------------------
/** xorshift32: a fast deterministic stream, so usher and raw see the same kind of sequence. */
export function prng(seed = 0x9e3779b9) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/**
 * Every session of a population { users, perUser, releasePool } (`users` users with `perUser`
 * live sessions each, plus `releasePool` sessions that exist only to be released), as
 * [user, session, device, content] (for the bulk loader).
 */
export function* populationSessions({ users, perUser, releasePool }) {
  for (let u = 0; u < users; u++) {
    for (let j = 0; j < perUser; j++) {
      yield [userId(u), sessionId(u, j), deviceId(u, j), contentId(u * perUser + j)];
    }
  }
  for (let r = 0; r < releasePool; r++) {
    const u = r % users;
    yield [userId(u), releaseSessionId(r), deviceId(u, 7), contentId(r)];
  }
}

/** Returns next(): the body of a renewal of a random live session of `pop` (no admissions). */
export function renewalsOf(pop, { seed = 11 } = {}) {
  const random = prng(seed);
  return () => randomRenewal(pop, random);
}

/** The body of a renewal of a random preloaded session of `pop`. */
function randomRenewal(pop, random) {
  const u = Math.floor(random() * pop.users);
  const j = Math.floor(random() * pop.perUser);
  return body(
    'license-renewal',
    userId(u),
    sessionId(u, j),
    deviceId(u, j),
    contentId(u * pop.perUser + j),
  );
}

/**
 * Returns next(): the body of the next heartbeat of the mix. Renewals hit preloaded sessions
 * (reason renewed), admissions bring fresh sessions (admitted), releases end preloaded release-
 * pool sessions (released; once the pool is used up, releases of unknown sessions: same answer).
 */
export function mix(pop, { renewals = 0.9, admissions = 0.08, seed = 1 } = {}) {
  const random = prng(seed);
  let admitted = 0;
  let released = 0;
  const counts = { renewal: 0, admission: 0, release: 0 };
  const next = () => {
    const r = random();
    if (r < renewals || (r >= renewals + admissions && pop.releasePool === 0)) {
      counts.renewal++;
      return randomRenewal(pop, random);
    }
    if (r < renewals + admissions) {
      counts.admission++;
      const n = admitted++;
      const u = n % pop.users;
      return body('license-request', userId(u), newSessionId(n), deviceId(u, 6), contentId(n));
    }
    counts.release++;
    const n = released++ % pop.releasePool;
    return body(
      'license-release',
      userId(n % pop.users),
      releaseSessionId(n),
      deviceId(n % pop.users, 7),
      contentId(n),
    );
  };
  next.counts = counts;
  return next;
}
