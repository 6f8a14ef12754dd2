// Open-loop (wrk2-style) load: requests are scheduled at a fixed rate whatever the server does,
// so a slow server cannot slow the load down and hide its queueing (coordinated omission).
// A minimal HTTP/1.1 keep-alive client over net sockets: one request in flight per connection,
// connections opened on demand up to maxConnections; when all are busy, due requests wait, and
// that wait counts in their latency.
//
// Three latencies per request (ms):
//   latency        from the tick that found the request due to its answer: the server's time plus
//                  any wait for a free connection (the figure reported against SPEC §9)
//   fromSchedule   from its exact scheduled instant: adds the generator's own timer lag (a 1 ms
//                  tick, later when this process is descheduled) — strict wrk2 accounting
//   service        from the write of the request to its answer (no queueing at all)
//
// Which generator runs: the native one (openloop.c, via open-loop-native.mjs) by default, because
// this JS one costs ~55-90 µs of CPU per request on the 2-vCPU box it shares with the server under
// test and Redis, and the C one a fraction of that (a few µs of its own; the rest is the kernel's
// loopback TCP and wake-ups, which any client pays); this JS one with BENCH_LOADGEN=js or when no
// C compiler is there. Both have the same schedule, latencies and result.
import { connect } from 'node:net';
import {
  buildNativeLoadGenerator,
  nativeLoadGeneratorAvailable,
  openLoopNative,
} from './open-loop-native.mjs';

const TICK_MS = 1;
const DRAIN_MS = 5_000;

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

export function summarize(samples, count) {
  const sorted = samples.subarray(0, count).sort();
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

// Built here, at load, so that no compile runs (and is charged as load-generator CPU) inside a
// metered run.
function nativeGenerator() {
  if (process.env.BENCH_LOADGEN === 'js' || !nativeLoadGeneratorAvailable()) return false;
  try {
    buildNativeLoadGenerator();
    return true;
  } catch (err) {
    process.stderr.write(
      `open-loop: native load generator unavailable (${err.message}); using the JS one\n`,
    );
    return false;
  }
}

/** 'native' or 'js': the generator openLoop() runs. */
export const loadGenerator = nativeGenerator() ? 'native' : 'js';

/**
 * Offers `rate` requests/s for `durationS` seconds. `nextBody()` gives each request body.
 * Resolves { offered, durationS, sent, completed, achieved, latency, fromSchedule, serviceLatency
 * (each { p50, p90, p99, p999, max } in ms), non2xx, errors, socketErrors, lateStarts,
 * maxConnectionsUsed }.
 */
export function openLoop(options) {
  return loadGenerator === 'native' ? openLoopNative(options) : openLoopJs(options);
}

/** The JS generator (BENCH_LOADGEN=js, or no C compiler). */
export async function openLoopJs({
  host = '127.0.0.1',
  port,
  path = '/v1/heartbeats',
  token,
  rate,
  durationS,
  nextBody,
  maxConnections = 256,
  warmConnections = 16,
}) {
  const head =
    `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: keep-alive\r\n` +
    (token ? `Authorization: Bearer ${token}\r\n` : '') +
    'Content-Type: application/json\r\nContent-Length: ';
  const total = Math.ceil(rate * durationS);
  const fromPickup = new Float64Array(total);
  const fromDue = new Float64Array(total);
  const fromWrite = new Float64Array(total);
  let completed = 0;
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let lateStarts = 0; // requests that had to wait for a free connection
  const idle = [];
  const all = new Set();
  const queue = []; // [dueNs, pickupNs] of requests waiting for a connection
  let opening = 0;
  const now = () => Number(process.hrtime.bigint());

  const send = (conn, dueNs, pickupNs) => {
    const b = nextBody();
    conn.dueNs = dueNs;
    conn.pickupNs = pickupNs;
    conn.writeNs = now();
    conn.socket.write(`${head}${Buffer.byteLength(b)}\r\n\r\n${b}`);
    sent++;
  };
  const release = (conn) => {
    if (queue.length) {
      lateStarts++;
      const [dueNs, pickupNs] = queue.shift();
      send(conn, dueNs, pickupNs);
    } else {
      conn.dueNs = 0;
      idle.push(conn);
    }
  };

  const open = () =>
    new Promise((resolve) => {
      opening++;
      const socket = connect({ host, port, noDelay: true });
      const conn = { socket, buf: '', need: -1, status: 0, dueNs: 0, pickupNs: 0, writeNs: 0 };
      socket.setEncoding('latin1');
      socket.once('connect', () => {
        opening--;
        all.add(conn);
        resolve(conn);
      });
      socket.on('error', () => {
        if (conn.dueNs) errors++;
        conn.dueNs = 0;
      });
      socket.on('close', () => {
        if (!all.has(conn)) {
          opening--;
          resolve(null);
        }
        all.delete(conn);
        const i = idle.indexOf(conn);
        if (i >= 0) idle.splice(i, 1);
      });
      socket.on('data', (chunk) => {
        conn.buf += chunk;
        for (;;) {
          if (conn.need < 0) {
            const end = conn.buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const headers = conn.buf.slice(0, end);
            conn.status = Number(headers.slice(9, 12));
            const m = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
            conn.need = end + 4 + (m ? Number(m[1]) : 0);
          }
          if (conn.buf.length < conn.need) return;
          conn.buf = conn.buf.slice(conn.need);
          conn.need = -1;
          const t = now();
          if (completed < total && conn.dueNs) {
            fromPickup[completed] = (t - conn.pickupNs) / 1e6;
            fromDue[completed] = (t - conn.dueNs) / 1e6;
            fromWrite[completed] = (t - conn.writeNs) / 1e6;
            completed++;
          }
          if (conn.status < 200 || conn.status > 299) non2xx++;
          release(conn);
        }
      });
    });

  const warm = await Promise.all(Array.from({ length: warmConnections }, open));
  for (const c of warm) if (c) idle.push(c);

  const startNs = now();
  const intervalNs = 1e9 / rate;
  let scheduled = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const pickupNs = now();
      const due = Math.min(total, Math.floor((pickupNs - startNs) / intervalNs) + 1);
      for (; scheduled < due; scheduled++) {
        const dueNs = startNs + scheduled * intervalNs;
        const conn = idle.pop();
        if (conn) send(conn, dueNs, pickupNs);
        else {
          queue.push([dueNs, pickupNs]);
          if (all.size + opening < maxConnections) {
            void open().then((c) => c && release(c));
          }
        }
      }
      if (scheduled >= total) return resolve();
      setTimeout(tick, TICK_MS);
    };
    tick();
  });
  const issuedNs = now();
  const drainUntil = Date.now() + DRAIN_MS;
  while (completed + errors < total && Date.now() < drainUntil) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const maxConnectionsUsed = all.size;
  for (const c of all) c.socket.destroy();
  const elapsedS = (issuedNs - startNs) / 1e9;
  return {
    offered: rate,
    durationS: elapsedS,
    sent,
    completed,
    achieved: completed / elapsedS,
    latency: summarize(fromPickup, completed),
    fromSchedule: summarize(fromDue, completed),
    serviceLatency: summarize(fromWrite, completed),
    non2xx,
    errors: total - completed, // unanswered (socket errors included) by the end of the drain
    socketErrors: errors,
    lateStarts,
    maxConnectionsUsed,
  };
}
