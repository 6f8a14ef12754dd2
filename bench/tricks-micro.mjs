// npm run bench:tricks-micro: the per-heartbeat CPU of each in-process hot-path trick against its
// plain version, timed in this one process (rounds interleaved, the fastest round kept), so a
// busy machine moves both sides alike. bench/tricks.mjs measures whole servers instead; this is
// the figure that survives a shared machine. Each figure is ns per heartbeat, doing what one
// heartbeat does. Needs a build (dist/). The tricks measured here and dropped for buying too
// little (counters, histograms, the token cache, promise chains) are in this file's history
// and in docs/performance.md, "Hot-path tricks".
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from './config.mjs';
import { fmt, log } from './log.mjs';

const require = createRequire(join(ROOT, 'dist', 'main.js'));
const { slotHash } = require('./active-slots/active-slots-layout.js');

const HEARTBEATS = 200_000;
const ROUNDS = 7;
/** ns per heartbeat of `run(i)`, the fastest of the rounds it is given. */
function nsPerHeartbeat(run) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < HEARTBEATS; i++) run(i);
  return Number(process.hrtime.bigint() - started) / HEARTBEATS;
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

const TRICKS = {
  'slot-sightings': sightings,
};

function main() {
  const rows = [];
  for (const [name, make] of Object.entries(TRICKS)) {
    const { trick, plain } = make();
    const best = { trick: Infinity, plain: Infinity };
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of ['trick', 'plain']) {
        const run = side === 'trick' ? trick : plain;
        best[side] = Math.min(best[side], nsPerHeartbeat(run));
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

main();
