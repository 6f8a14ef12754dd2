import { CountBy } from '../config/plan';
import { drmFromLetter } from './session-identity';
import {
  Decision,
  DeviceRequiredError,
  RemovalCause,
  StoreDecision,
  StoredSession,
  UserDevices,
  UserSessions,
} from './session-types';

/*
 * The per-user scripts' replies (positional, as Lua returns them; the layout of each is at the
 * top of its lua/*.lua) and their decoding into the store's types.
 */

export type SessionRow = [string, string, string, string, number, number];
/** lua/downloads.lua puts the lapse time first, so the rest reads as a session. */
export type DownloadRow = [number, ...SessionRow];
export type DeviceRow = [string, number, number];
export type ShadowRow = [] | [string, string, SessionRow[]];
export type HeartbeatReply = [
  string,
  string,
  string,
  CountBy,
  number,
  number,
  number,
  number,
  SessionRow[],
  string,
  number,
  number?,
  SessionRow[]?,
  ShadowRow?,
  DeviceRow[]?,
];
export type UserSessionsReply = [
  string,
  CountBy,
  number,
  number,
  number,
  number,
  SessionRow[],
  DownloadRow[],
  number,
];
export type TerminateReply = [string, SessionRow[]];
export type UserDevicesReply = [number, number, DeviceRow[]];

export function toSession([
  sessionId,
  deviceId,
  drm,
  contentId,
  startedAt,
  lastSeenAt,
]: SessionRow): StoredSession {
  return {
    sessionId,
    deviceId: deviceId || undefined,
    drm: drmFromLetter(drm),
    contentId: contentId || undefined,
    startedAt,
    lastSeenAt,
  };
}

export function toDecision([
  decision,
  reason,
  plan,
  countBy,
  maxStreams,
  activeStreams,
  interval,
  grace,
  rows,
  cause,
  removedSlots,
  downloadLapseMs,
  takenOver,
  shadow,
  devices,
]: HeartbeatReply): StoreDecision {
  if (decision === 'invalid') {
    throw reason === 'devices_required'
      ? new DeviceRequiredError('deviceId: required because the plan caps devices (maxDevices)')
      : new DeviceRequiredError();
  }
  const d: StoreDecision = {
    decision: decision as Decision,
    reason: reason as StoreDecision['reason'],
    plan,
    countBy,
    maxStreams,
    activeStreams,
    renewalIntervalSeconds: interval,
    graceSeconds: grace,
    sessions: rows.map(toSession),
    removed: cause ? { cause: cause as RemovalCause, slots: removedSlots } : undefined,
    downloadLapseMs: downloadLapseMs || undefined,
  };
  if (takenOver?.length) d.takenOver = toSession(takenOver[0]);
  if (shadow?.length === 3) {
    d.shadow = {
      decision: shadow[0] as Decision,
      reason: shadow[1] as StoreDecision['reason'],
      evicted: shadow[2].map(toSession),
    };
  }
  if (devices?.length) {
    d.devices = devices.map(([deviceId, firstSeenAt, lastSeenAt]) => ({
      deviceId,
      firstSeenAt,
      lastSeenAt,
    }));
  }
  return d;
}

export function toUserSessions([
  plan,
  countBy,
  maxStreams,
  activeStreams,
  interval,
  grace,
  rows,
  downloadRows,
  maxDownloads,
]: UserSessionsReply): UserSessions {
  return {
    downloads: downloadRows.map(([expiresAt, ...row]) => ({ ...toSession(row), expiresAt })),
    maxDownloads: maxDownloads < 0 ? null : maxDownloads,
    plan,
    countBy,
    maxStreams,
    activeStreams,
    renewalIntervalSeconds: interval,
    graceSeconds: grace,
    sessions: rows.map(toSession),
  };
}

export function toUserDevices([
  maxDevices,
  deviceWindowHours,
  rows,
]: UserDevicesReply): UserDevices {
  return {
    maxDevices: maxDevices > 0 ? maxDevices : null,
    deviceWindowHours,
    devices: rows.map(([deviceId, firstSeenAt, lastSeenAt]) => ({
      deviceId,
      firstSeenAt,
      lastSeenAt,
    })),
  };
}
