import { CountBy } from '../config/plan';
import { checkReply, decodeReply, replyFields, RowOf } from './reply-fields';
import { drmFromLetter } from './session-identity';
import {
  Decision,
  DeviceRequiredError,
  RemovalCause,
  StoreDecision,
  StoredDevice,
  StoredDownload,
  StoredSession,
  UserDevices,
  UserSessions,
} from './session-types';

/*
 * The per-user scripts' replies and rows, one field table each (reply-fields.ts): the names in
 * the order the Lua returns them. The Lua comment that names a table lists the same fields (the
 * scripts' other comments say what each field means); change the two together.
 */

interface SessionFields {
  sessionId: string;
  /** '' when the session has none. */
  deviceId: string;
  /** One letter (DRM_LETTER). */
  drm: string;
  /** '' when the session has none. */
  contentId: string;
  startedAt: number;
  lastSeenAt: number;
}
/** One session, as sessions.lua describe() gives it. */
export const SESSION_ROW = replyFields<SessionFields>()('SESSION_ROW', 'sessions.lua', [
  'sessionId',
  'deviceId',
  'drm',
  'contentId',
  'startedAt',
  'lastSeenAt',
]);
export type SessionRow = RowOf<typeof SESSION_ROW>;

/** One download (downloads.lua loadDownloads): when it lapses, then a session row. */
export const DOWNLOAD_ROW = replyFields<SessionFields & { expiresAt: number }>()(
  'DOWNLOAD_ROW',
  'downloads.lua',
  ['expiresAt', ...SESSION_ROW.fields],
);
export type DownloadRow = RowOf<typeof DOWNLOAD_ROW>;

/** One registered device (controls.lua listDevices). */
export const DEVICE_ROW = replyFields<StoredDevice>()('DEVICE_ROW', 'controls.lua', [
  'deviceId',
  'firstSeenAt',
  'lastSeenAt',
]);
export type DeviceRow = RowOf<typeof DEVICE_ROW>;

/** What enforcement would have answered under a shadow plan (heartbeat.lua; {} otherwise). */
export const SHADOW_VERDICT = replyFields<{
  decision: Decision;
  reason: StoreDecision['reason'];
  evicted: SessionRow[];
}>()('SHADOW_VERDICT', 'heartbeat.lua', ['decision', 'reason', 'evicted']);
export type ShadowRow = RowOf<typeof SHADOW_VERDICT>;

/**
 * The full answer of heartbeat.lua (a fast renewal answers a bare count instead). The last four
 * fields come only when an answer needs one of them.
 */
export const HEARTBEAT_REPLY = replyFields<{
  decision: Decision | 'invalid';
  reason: StoreDecision['reason'] | 'device_required' | 'devices_required';
  plan: string;
  countBy: CountBy;
  maxStreams: number;
  activeStreams: number;
  interval: number;
  grace: number;
  sessions: SessionRow[];
  cause: RemovalCause | '';
  removedSlots: number;
  downloadLapseMs?: number;
  /** {} or the one session a takeover revoked. */
  takenOver?: SessionRow[];
  shadow?: ShadowRow | readonly [];
  devices?: DeviceRow[];
}>()(
  'HEARTBEAT_REPLY',
  'heartbeat.lua',
  [
    'decision',
    'reason',
    'plan',
    'countBy',
    'maxStreams',
    'activeStreams',
    'interval',
    'grace',
    'sessions',
    'cause',
    'removedSlots',
    'downloadLapseMs',
    'takenOver',
    'shadow',
    'devices',
  ],
  11,
);

export const USER_SESSIONS_REPLY = replyFields<{
  plan: string;
  countBy: CountBy;
  maxStreams: number;
  activeStreams: number;
  interval: number;
  grace: number;
  sessions: SessionRow[];
  downloads: DownloadRow[];
  /** -1: the plan does not count downloads. */
  maxDownloads: number;
}>()('USER_SESSIONS_REPLY', 'user-sessions.lua', [
  'plan',
  'countBy',
  'maxStreams',
  'activeStreams',
  'interval',
  'grace',
  'sessions',
  'downloads',
  'maxDownloads',
]);

export const TERMINATE_REPLY = replyFields<{ plan: string; sessions: SessionRow[] }>()(
  'TERMINATE_REPLY',
  'terminate.lua',
  ['plan', 'sessions'],
);

export const END_DOWNLOAD_REPLY = replyFields<{ removed: 0 | 1; plan: string }>()(
  'END_DOWNLOAD_REPLY',
  'end-download.lua',
  ['removed', 'plan'],
);

export const USER_DEVICES_REPLY = replyFields<{
  /** 0: the plan does not cap devices. */
  maxDevices: number;
  deviceWindowHours: number;
  devices: DeviceRow[];
}>()('USER_DEVICES_REPLY', 'user-devices.lua', ['maxDevices', 'deviceWindowHours', 'devices']);

/** Every table, for the test that holds them and the Lua comments together. */
export const REPLY_TABLES = [
  SESSION_ROW,
  DOWNLOAD_ROW,
  DEVICE_ROW,
  SHADOW_VERDICT,
  HEARTBEAT_REPLY,
  USER_SESSIONS_REPLY,
  TERMINATE_REPLY,
  END_DOWNLOAD_REPLY,
  USER_DEVICES_REPLY,
] as const;

// Positions read on the hot path, resolved once.
const S = SESSION_ROW.at;
const H = HEARTBEAT_REPLY.at;
const V = SHADOW_VERDICT.at;
const DV = DEVICE_ROW.at;

export function toSession(row: SessionRow): StoredSession {
  checkReply(SESSION_ROW, row);
  return {
    sessionId: row[S.sessionId],
    deviceId: row[S.deviceId] || undefined,
    drm: drmFromLetter(row[S.drm]),
    contentId: row[S.contentId] || undefined,
    startedAt: row[S.startedAt],
    lastSeenAt: row[S.lastSeenAt],
  };
}

function toDownload(row: DownloadRow): StoredDownload {
  checkReply(DOWNLOAD_ROW, row);
  // DOWNLOAD_ROW is expiresAt followed by SESSION_ROW's fields.
  const session = row.slice(DOWNLOAD_ROW.at.sessionId) as unknown as SessionRow;
  return { ...toSession(session), expiresAt: row[DOWNLOAD_ROW.at.expiresAt] };
}

function toDevice(row: DeviceRow): StoredDevice {
  checkReply(DEVICE_ROW, row);
  return {
    deviceId: row[DV.deviceId],
    firstSeenAt: row[DV.firstSeenAt],
    lastSeenAt: row[DV.lastSeenAt],
  };
}

/**
 * A heartbeat's full reply as the store's decision. On the hot path: reads each field at its
 * resolved position, allocating nothing beyond the decision itself.
 */
export function toDecision(reply: unknown): StoreDecision {
  checkReply(HEARTBEAT_REPLY, reply);
  const decision = reply[H.decision];
  if (decision === 'invalid') {
    throw reply[H.reason] === 'devices_required'
      ? new DeviceRequiredError('deviceId: required because the plan caps devices (maxDevices)')
      : new DeviceRequiredError();
  }
  const cause = reply[H.cause];
  const d: StoreDecision = {
    decision,
    reason: reply[H.reason] as StoreDecision['reason'],
    plan: reply[H.plan],
    countBy: reply[H.countBy],
    maxStreams: reply[H.maxStreams],
    activeStreams: reply[H.activeStreams],
    renewalIntervalSeconds: reply[H.interval],
    graceSeconds: reply[H.grace],
    sessions: reply[H.sessions].map(toSession),
    removed: cause ? { cause, slots: reply[H.removedSlots] } : undefined,
    downloadLapseMs: reply[H.downloadLapseMs] || undefined,
  };
  const takenOver = reply[H.takenOver];
  if (takenOver?.length) d.takenOver = toSession(takenOver[0]);
  const shadow = reply[H.shadow];
  if (shadow?.length) {
    checkReply(SHADOW_VERDICT, shadow);
    d.shadow = {
      decision: shadow[V.decision],
      reason: shadow[V.reason],
      evicted: shadow[V.evicted].map(toSession),
    };
  }
  const devices = reply[H.devices];
  if (devices?.length) d.devices = devices.map(toDevice);
  return d;
}

export function toUserSessions(reply: unknown): UserSessions {
  const r = decodeReply(USER_SESSIONS_REPLY, reply);
  return {
    downloads: r.downloads.map(toDownload),
    maxDownloads: r.maxDownloads < 0 ? null : r.maxDownloads,
    plan: r.plan,
    countBy: r.countBy,
    maxStreams: r.maxStreams,
    activeStreams: r.activeStreams,
    renewalIntervalSeconds: r.interval,
    graceSeconds: r.grace,
    sessions: r.sessions.map(toSession),
  };
}

/** What terminate.lua ended: the user's plan and the sessions that were live. */
export function toTermination(reply: unknown): { plan: string; sessions: StoredSession[] } {
  const r = decodeReply(TERMINATE_REPLY, reply);
  return { plan: r.plan, sessions: r.sessions.map(toSession) };
}

/** Whether end-download.lua found the download, and the user's plan. */
export function toEndedDownload(reply: unknown): { existed: boolean; plan: string } {
  const r = decodeReply(END_DOWNLOAD_REPLY, reply);
  return { existed: r.removed === 1, plan: r.plan };
}

export function toUserDevices(reply: unknown): UserDevices {
  const r = decodeReply(USER_DEVICES_REPLY, reply);
  return {
    maxDevices: r.maxDevices > 0 ? r.maxDevices : null,
    deviceWindowHours: r.deviceWindowHours,
    devices: r.devices.map(toDevice),
  };
}
