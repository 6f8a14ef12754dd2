// npm run bench:tricks-micro: the per-heartbeat CPU of each in-process hot-path trick against its
// plain version, timed in this one process (rounds interleaved, the fastest round kept), so a
// busy machine moves both sides alike. bench/tricks.mjs measures whole servers instead; this is
// the figure that survives a shared machine. Each figure is ns per heartbeat, doing what one
// heartbeat does (e.g. two histogram observations). Needs a build (dist/).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Counter, Histogram, Registry } from 'prom-client';
import { ROOT } from './config.mjs';
import { fmt, log } from './log.mjs';

const require = createRequire(join(ROOT, 'dist', 'main.js'));
const { HeartbeatCounts } = require('./metrics/heartbeat-counts.js');
const { LatencyHistogram } = require('./metrics/latency-histogram.js');
const { LATENCY_BUCKETS_SECONDS } = require('./metrics/metrics.service.js');
const { TokenBook } = require('./auth/token-book.js');
const { slotHash } = require('./active-slots/active-slots-layout.js');

const HEARTBEATS = 200_000;
const ROUNDS = 7;
/** Label values as a renewal-heavy mix sees them. */
const LABELS = [
  ['allow', 'renewed', 'widevine', 'license-renewal', 'basic'],
  ['allow', 'admitted', 'widevine', 'license-request', 'basic'],
  ['deny', 'limit_exceeded', 'playready', 'license-request', 'premium'],
  ['allow', 'renewed', 'fairplay', 'license-renewal', 'family'],
];
const TOKEN = 'bench-license-server-token-0123456789abcdef';
const HEADER = `Bearer ${TOKEN}`;

/** ns per heartbeat of `run(i)`, the fastest of the rounds it is given. */
function nsPerHeartbeat(run) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < HEARTBEATS; i++) run(i);
  return Number(process.hrtime.bigint() - started) / HEARTBEATS;
}

/** ns per heartbeat of an async flow, awaited one heartbeat at a time like a connection does. */
async function nsPerAsyncHeartbeat(run) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < HEARTBEATS; i++) await run(i);
  return Number(process.hrtime.bigint() - started) / HEARTBEATS;
}

function counters() {
  const cells = new HeartbeatCounts();
  const counter = new Counter({
    name: 'c',
    help: 'c',
    labelNames: ['decision', 'reason', 'drm', 'message_type', 'plan'],
    registers: [new Registry()],
  });
  return {
    trick: (i) => cells.count(...LABELS[i & 3]),
    plain: (i) => {
      const [decision, reason, drm, messageType, plan] = LABELS[i & 3];
      counter.inc({ decision, reason, drm, message_type: messageType, plan });
    },
  };
}

function histograms() {
  const registry = new Registry();
  const heartbeat = new LatencyHistogram('h', 'h', 'decision', LATENCY_BUCKETS_SECONDS, registry);
  const store = new LatencyHistogram('s', 's', 'operation', LATENCY_BUCKETS_SECONDS, registry);
  const allow = heartbeat.cell('allow');
  const plainRegistry = new Registry();
  const plain = (name, label) =>
    new Histogram({
      name,
      help: name,
      labelNames: [label],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [plainRegistry],
    });
  const plainHeartbeat = plain('h', 'decision');
  const plainStore = plain('s', 'operation');
  const seconds = (i) => 0.0004 + (i & 15) * 0.0001;
  return {
    trick: (i) => {
      store.cell('heartbeat').observe(seconds(i));
      allow.observe(seconds(i));
    },
    plain: (i) => {
      plainStore.observe({ operation: 'heartbeat' }, seconds(i));
      plainHeartbeat.observe({ decision: 'allow' }, seconds(i));
    },
  };
}

function tokens() {
  const book = new TokenBook({ licenseServerTokens: [TOKEN], adminTokens: ['admin-token'] });
  const roleByDigest = new Map([[createHash('sha256').update(TOKEN).digest('hex'), 'ls']]);
  const bearer = /^Bearer\s+(\S+)\s*$/i;
  return {
    trick: () => book.admit(HEADER, 'license-server'),
    plain: () => {
      const digest = createHash('sha256').update(bearer.exec(HEADER)[1]).digest('hex');
      return { role: roleByDigest.get(digest), tokenFingerprint: digest.slice(0, 12) };
    },
  };
}

function sightings() {
  let hashes = new Int32Array(1024);
  let length = 0;
  let keys = new Set();
  const user = (i) => `user-${(i * 7919) % 50_000}-0123456789abcdef0123`;
  const session = (i) => `session-${i % 100_000}-0123456789abcdef01234`;
  return {
    trick: (i) => {
      if (length === hashes.length) {
        const grown = new Int32Array(hashes.length * 2);
        grown.set(hashes);
        hashes = grown;
      }
      hashes[length++] = slotHash(user(i), 'session', session(i));
      if (length === 25_000) length = 0; // a 5 s flush period at 5,000/s
    },
    plain: (i) => {
      keys.add(`${user(i)}\ns:${session(i)}`);
      if (keys.size === 25_000) keys = new Set();
    },
  };
}

function promiseChains() {
  const store = () => Promise.resolve(1);
  const observe = () => undefined;
  // decide() turns some rejections into answers; the plain version needs its try/catch too.
  const degraded = (err) => {
    if (err) throw err;
    return 0;
  };
  const chainStore = () =>
    store().then(
      (reply) => {
        observe();
        return reply;
      },
      (err) => {
        observe();
        throw err;
      },
    );
  const chainDecide = () =>
    chainStore().then(
      (decision) => decision + 1,
      (err) => degraded(err),
    );
  const asyncStore = async () => {
    let reply;
    try {
      reply = await store();
    } catch (err) {
      observe();
      throw err;
    }
    observe();
    return reply;
  };
  const asyncDecide = async () => {
    let decision;
    try {
      decision = await asyncStore();
    } catch (err) {
      return degraded(err);
    }
    return decision + 1;
  };
  const asyncRoute = async () => await asyncDecide();
  return { trick: chainDecide, plain: asyncRoute, async: true };
}

const TRICKS = {
  'heartbeat-counts': counters,
  'latency-histogram': histograms,
  'token-book': tokens,
  'slot-sightings': sightings,
  'promise-chains': promiseChains,
};

async function main() {
  const rows = [];
  for (const [name, make] of Object.entries(TRICKS)) {
    const { trick, plain, async } = make();
    const best = { trick: Infinity, plain: Infinity };
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of ['trick', 'plain']) {
        const run = side === 'trick' ? trick : plain;
        const ns = async ? await nsPerAsyncHeartbeat(run) : nsPerHeartbeat(run);
        best[side] = Math.min(best[side], ns);
      }
    }
    rows.push({ name, ...best, savedNs: best.plain - best.trick });
  }
  log('| trick | trick ns/heartbeat | plain ns/heartbeat | saved µs/heartbeat |');
  log('|---|---|---|---|');
  for (const r of rows) {
    log(`| ${r.name} | ${fmt(r.trick, 0)} | ${fmt(r.plain, 0)} | ${fmt(r.savedNs / 1000, 2)} |`);
  }
}

await main();
