import { CONTROL_DEFAULTS, CONTROL_FIELDS, DOWNLOAD_DEFAULTS, Plan } from '../config/plan';

// The plan table is the scripts' view of the plans: it sits beside the Lua that parses it
// (lua/policy.lua), and the store encodes it from the plans it is given.

/** Whether a plan sets any rollout and fairness control (only then the table line carries them). */
function hasControls(p: Plan): boolean {
  return CONTROL_FIELDS.some((field) => p[field] !== undefined);
}

/**
 * "\n<name> <maxStreams> <countBy> <onLimit> <interval> <grace> <maxDownloads> <downloadDays>
 * [<enforcement> <evictionGraceSeconds> <handoff 0|1> <maxStreamsPerContent> <maxDevices>
 * <deviceWindowHours>]" per plan, as lua/policy.lua reads it (maxDownloads -1: downloads not
 * counted; the bracketed controls only for a plan that sets one, maxStreamsPerContent and
 * maxDevices 0 meaning no such limit).
 */
export function encodePlanTable(plans: Iterable<Plan>): string {
  let table = '\n';
  for (const p of plans) {
    const days = p.downloadDays ?? DOWNLOAD_DEFAULTS.downloadDays;
    const controls = !hasControls(p)
      ? ''
      : ' ' +
        [
          p.enforcement ?? CONTROL_DEFAULTS.enforcement,
          p.evictionGraceSeconds ?? CONTROL_DEFAULTS.evictionGraceSeconds,
          p.handoff ? 1 : 0,
          p.maxStreamsPerContent ?? 0,
          p.maxDevices ?? 0,
          p.deviceWindowHours ?? CONTROL_DEFAULTS.deviceWindowHours,
        ].join(' ');
    table += `${p.name} ${p.maxStreams} ${p.countBy} ${p.onLimit} ${p.renewalIntervalSeconds} ${p.graceSeconds} ${p.maxDownloads ?? -1} ${days}${controls}\n`;
  }
  return table;
}
