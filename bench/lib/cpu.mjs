// CPU accounting from /proc (Linux): CPU seconds used by each bench process during a run, and by
// everything else on the machine (other workloads sharing the box: the noise in the figures).
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux ABI node runs on

// For the bench's own pid, the CPU of its children that exited and were waited for (cutime +
// cstime) counts too: the open-loop load generator is a child (openloop, see open-loop.mjs), which
// has exited, and been reaped, by the time the meter is read. The long-running children
// (redis-server, usher, the references) are reaped only when the bench ends, so they do not show
// in the deltas; they are metered by their own pids.
function processTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(fields[11]) + Number(fields[12]); // utime + stime
    return pid === process.pid ? own + Number(fields[13]) + Number(fields[14]) : own; // + cutime + cstime
  } catch {
    return NaN;
  }
}

function machineTicks() {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const idle = cpu[3] + (cpu[4] ?? 0);
    const steal = cpu[7] ?? 0;
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    // Steal: time the hypervisor ran something else while a vCPU wanted to run (not "busy").
    return { busy: total - idle - steal, total, steal };
  } catch {
    return { busy: NaN, total: NaN, steal: NaN };
  }
}

/** Starts a measurement over named pids (the bench's own process included as "bench"). */
export function cpuMeter(pids) {
  const all = { bench: process.pid, ...pids };
  const before = Object.fromEntries(Object.entries(all).map(([n, pid]) => [n, processTicks(pid)]));
  const machineBefore = machineTicks();
  const started = process.hrtime.bigint();
  return () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const machine = machineTicks();
    const used = {};
    let ours = 0;
    for (const [n, pid] of Object.entries(all)) {
      used[n] = (processTicks(pid) - before[n]) / TICKS_PER_SECOND;
      ours += used[n];
    }
    const busy = (machine.busy - machineBefore.busy) / TICKS_PER_SECOND;
    const capacity = (machine.total - machineBefore.total) / TICKS_PER_SECOND;
    return {
      seconds,
      /** CPU seconds per process. */
      used,
      /** CPU seconds used by other processes on the machine during the run. */
      others: Math.max(0, busy - ours),
      /** Fraction of all CPUs busy. */
      machineBusy: capacity ? busy / capacity : NaN,
      /** vCPUs' worth of time the hypervisor took away during the run (a noisy host). */
      stealCores: (machine.steal - machineBefore.steal) / TICKS_PER_SECOND / seconds,
    };
  };
}
