import { CountBy } from '../config/plan';
import { Drm } from '../common/drm';

/*
 * What the session store answers and takes: decisions, stored sessions, downloads and devices,
 * and its errors. The store (session-store.ts) re-exports them.
 */

export type Reason =
  | 'admitted'
  | 'renewed'
  | 'released'
  | 'limit_exceeded'
  | 'session_revoked'
  | 'download_limit_exceeded'
  | 'content_limit_exceeded'
  | 'device_limit_exceeded'
  | 'degraded';
export type Decision = 'allow' | 'deny';
export type RemovalCause = 'evict_oldest' | 'limit_lowered' | 'handoff';

/** A registered device (maxDevices): epoch ms. */
export interface StoredDevice {
  deviceId: string;
  firstSeenAt: number;
  lastSeenAt: number;
}

/** What enforcement would have answered, under a shadow plan (nothing of it was done). */
export interface ShadowVerdict {
  decision: Decision;
  reason: Exclude<Reason, 'degraded'>;
  evicted: StoredSession[];
}

export interface StoredSession {
  sessionId: string;
  deviceId?: string;
  drm: Drm;
  contentId?: string;
  startedAt: number;
  lastSeenAt: number;
}

export interface EffectivePolicy {
  plan: string;
  countBy: CountBy;
  maxStreams: number;
  renewalIntervalSeconds: number;
  graceSeconds: number;
}

export interface HeartbeatInput {
  userId: string;
  release: boolean;
  sessionId: string;
  deviceId?: string;
  drm: Drm;
  contentId?: string;
  plan?: string;
  /** A persistent licence (a download), counted apart from streams. */
  persistent?: boolean;
  /** license-request only: a live session of this user to revoke first (takeover). */
  takeoverSessionId?: string;
}

export interface StoreDecision extends EffectivePolicy {
  decision: Decision;
  reason: Exclude<Reason, 'degraded'>;
  activeStreams: number;
  /** Evicted sessions on allow, conflicting sessions on deny. */
  sessions: StoredSession[];
  removed?: { cause: RemovalCause; slots: number };
  /** An allowed persistent licence: ms until the download lapses. */
  downloadLapseMs?: number;
  /** The session a takeover revoked (cause takeover), before the rest was decided. */
  takenOver?: StoredSession;
  /** Under a shadow plan: what enforcement would have answered. */
  shadow?: ShadowVerdict;
  /** On device_limit_exceeded: the registered devices, most recently seen first. */
  devices?: StoredDevice[];
}

export interface StoredDownload extends StoredSession {
  expiresAt: number;
}

export interface UserSessions extends EffectivePolicy {
  activeStreams: number;
  sessions: StoredSession[];
  downloads: StoredDownload[];
  /** The effective maxDownloads, or null when the plan does not count downloads. */
  maxDownloads: number | null;
}

export interface UserDevices {
  /** The effective maxDevices, or null when the plan does not cap devices. */
  maxDevices: number | null;
  deviceWindowHours: number;
  devices: StoredDevice[];
}

/**
 * The plan says countBy device or caps devices (maxDevices), possibly through an override, and
 * the heartbeat has no deviceId.
 */
export class DeviceRequiredError extends Error {
  constructor(message = 'deviceId: required because the plan counts streams by device') {
    super(message);
  }
}

/** A store failure, classified for usher_store_errors_total{kind}. */
export class StoreError extends Error {
  constructor(
    readonly kind: 'timeout' | 'connection' | 'script' | 'overload',
    cause: unknown,
  ) {
    super(`store ${kind} error: ${(cause as Error)?.message ?? String(cause)}`);
  }
}
