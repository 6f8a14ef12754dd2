import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CountBy, Plan } from '../config/plan';
import { MetricsService } from '../metrics/metrics.service';
import { PlanRegistry } from '../plans/plan-registry';
import { RedisConnections } from '../redis/redis.module';
import { RedisClient, withDeadline } from '../redis/redis-connection';
import { WriteCoalescer } from '../redis/write-coalescer';
import { InFlightLimit } from './in-flight-limit';
import { loadLuaScript } from './lua-script';
import { Drm, DRM_LETTER, drmFromLetter } from './session-identity';
import { scriptKeys, userKeys } from './session-keys';

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

type SessionRow = [string, string, string, string, number, number];
/** lua/downloads.lua puts the lapse time first, so the rest reads as a session. */
type DownloadRow = [number, ...SessionRow];
type DeviceRow = [string, number, number];
type ShadowRow = [] | [string, string, SessionRow[]];
type HeartbeatReply = [
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
type UserSessionsReply = [
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
type TerminateReply = [string, SessionRow[]];

const SCRIPTS = {
  usherHeartbeat: 'heartbeat',
  usherUserSessions: 'user-sessions',
  usherTerminate: 'terminate',
  usherEndDownload: 'end-download',
  usherUserDevices: 'user-devices',
  usherForgetDevice: 'forget-device',
} as const;
type ScriptName = keyof typeof SCRIPTS;
type ScriptedClient = RedisClient &
  Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

/** The per-user scripts' text, includes resolved (lua/*.lua, built into dist/ beside this file). */
export function loadSessionScripts(): Record<ScriptName, string> {
  const dir = join(__dirname, 'lua');
  return Object.fromEntries(
    Object.entries(SCRIPTS).map(([name, file]) => [name, loadLuaScript(dir, file)]),
  ) as Record<ScriptName, string>;
}

/** Every per-user script gets the same KEYS (scriptKeys). */
const SCRIPT_KEY_COUNT = scriptKeys(userKeys('', '')).length;

/** The per-user bounds every writing script enforces (docs/architecture.md, "Bounds"). */
export interface UserBounds {
  maxEntriesPerUser: number;
  maxSessionsPerDevice: number;
}

/**
 * The plan a heartbeat may renew under in the script's fast path: a streaming renewal or
 * request (not a release, a download or a takeover) of a plan counted by session that applies
 * no rollout control a renewal must see (shadow answers, device registrations). The script takes
 * the fast path only when the user has no override, so this plan is then the policy in force.
 */
export function fastRenewalPlan(input: HeartbeatInput, plan: Plan): Plan | undefined {
  const plain =
    plan.countBy === 'session' && plan.enforcement !== 'shadow' && plan.maxDevices === undefined;
  return input.release || input.persistent || input.takeoverSessionId || !plain ? undefined : plan;
}

/** A fast renewal's answer, completed from the plan the script renewed under. */
export function fastRenewal(plan: Plan, activeStreams: number): StoreDecision {
  return {
    decision: 'allow',
    reason: 'renewed',
    plan: plan.name,
    countBy: plan.countBy,
    maxStreams: plan.maxStreams,
    activeStreams,
    renewalIntervalSeconds: plan.renewalIntervalSeconds,
    graceSeconds: plan.graceSeconds,
    sessions: [],
  };
}

/**
 * KEYS then ARGV of one heartbeat script call, as lua/heartbeat.lua reads them. `fast` is the
 * plan of the fast renewal (fastRenewalPlan), if any. Exported so the bench's raw reference and
 * bulk loader call the script exactly as usher does.
 */
export function heartbeatScriptArgs(
  prefix: string,
  input: HeartbeatInput,
  defaultPlan: string,
  planTable: string,
  bounds: UserBounds,
  fast?: Plan,
): (string | number)[] {
  return [
    ...scriptKeys(userKeys(prefix, input.userId)),
    input.release ? 'release' : 'request',
    input.sessionId,
    input.deviceId ?? '',
    DRM_LETTER[input.drm],
    input.contentId ?? '',
    input.plan ?? '',
    defaultPlan,
    planTable,
    bounds.maxEntriesPerUser,
    bounds.maxSessionsPerDevice,
    input.persistent ? 'persistent' : '',
    input.takeoverSessionId ?? '',
    fast ? (fast.renewalIntervalSeconds + fast.graceSeconds) * 1000 : '',
    fast ? fast.maxStreams : '',
  ];
}

function toSession([
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

function toDecision([
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

function toUserSessions([
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

function classify(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const message = (err as Error)?.message ?? '';
  if (/timed out/i.test(message)) return new StoreError('timeout', err);
  if (
    (err as Error)?.name === 'ReplyError' &&
    // Redis answering that it cannot serve now (failover, loading, no replicas, busy, full) is
    // an unavailable store, not a script fault.
    !/^(LOADING|CLUSTERDOWN|MASTERDOWN|READONLY|TRYAGAIN|NOREPLICAS|BUSY|OOM)\b/.test(message)
  ) {
    return new StoreError('script', err);
  }
  return new StoreError('connection', err);
}

/**
 * Owns the session key layout and the per-user scripts: every decision about slots, sessions
 * and revocations is one script call, atomic per user, timed by the Redis server's clock.
 */
@Injectable()
export class SessionStore {
  private readonly hot: ScriptedClient;
  private readonly hotWrites: WriteCoalescer;
  private readonly control: ScriptedClient;
  private readonly prefix: string;
  private readonly storeTimeoutMs: number;
  private readonly bounds: UserBounds;
  private readonly inFlight: InFlightLimit;

  constructor(
    redis: RedisConnections,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly plans: PlanRegistry,
    private readonly metrics: MetricsService,
  ) {
    const scripts = loadSessionScripts();
    for (const client of [redis.hot, redis.control]) {
      for (const [name, lua] of Object.entries(scripts)) {
        client.defineCommand(name, { numberOfKeys: SCRIPT_KEY_COUNT, lua });
      }
    }
    this.hot = redis.hot as ScriptedClient;
    this.hotWrites = redis.hotWrites;
    this.control = redis.control as ScriptedClient;
    this.prefix = config.keyPrefix;
    this.storeTimeoutMs = config.storeTimeoutMs;
    this.bounds = {
      maxEntriesPerUser: config.maxEntriesPerUser,
      maxSessionsPerDevice: config.maxSessionsPerDevice,
    };
    this.inFlight = new InFlightLimit(config.maxInFlight);
  }

  /**
   * The whole decision of one heartbeat: one EVALSHA, bounded by USHER_STORE_TIMEOUT_MS, and
   * answered at once (nothing written to Redis) while USHER_MAX_IN_FLIGHT calls are outstanding.
   */
  heartbeat(input: HeartbeatInput): Promise<StoreDecision> {
    if (!this.inFlight.tryStart()) return this.overloaded('heartbeat');
    const fast = fastRenewalPlan(input, this.plans.planFor(input.plan));
    this.hotWrites.hold();
    const sent = this.hot.usherHeartbeat(
      ...heartbeatScriptArgs(
        this.prefix,
        input,
        this.plans.defaultPlanName,
        this.plans.planTable(),
        this.bounds,
        fast,
      ),
    ) as Promise<HeartbeatReply | number>;
    // A hard bound on the hot path, whatever the client is doing (see withDeadline).
    return this.timed(
      'heartbeat',
      process.hrtime.bigint(),
      withDeadline(sent, this.storeTimeoutMs, this.inFlight.landed),
      (reply) => (typeof reply === 'number' ? fastRenewal(fast as Plan, reply) : toDecision(reply)),
    );
  }

  userSessions(userId: string): Promise<UserSessions> {
    if (!this.inFlight.tryStart()) return this.overloaded('user_sessions');
    return this.timed(
      'user_sessions',
      process.hrtime.bigint(),
      this.counted(
        this.control.usherUserSessions(
          ...scriptKeys(userKeys(this.prefix, userId)),
          this.plans.defaultPlanName,
          this.plans.planTable(),
        ) as Promise<UserSessionsReply>,
      ),
      toUserSessions,
    );
  }

  /** Ends one session, or all of the user's when sessionId is omitted; returns what was live. */
  terminate(
    userId: string,
    sessionId?: string,
  ): Promise<{ plan: string; sessions: StoredSession[] }> {
    if (!this.inFlight.tryStart()) return this.overloaded('terminate');
    return this.timed(
      'terminate',
      process.hrtime.bigint(),
      this.counted(
        this.control.usherTerminate(
          ...scriptKeys(userKeys(this.prefix, userId)),
          sessionId ?? '',
          this.plans.defaultPlanName,
          this.plans.planTable(),
          this.bounds.maxEntriesPerUser,
        ) as Promise<TerminateReply>,
      ),
      ([plan, rows]) => ({ plan, sessions: rows.map(toSession) }),
    );
  }

  /** Ends one download now (admin); says whether it existed, and the user's plan. */
  endDownload(userId: string, sessionId: string): Promise<{ existed: boolean; plan: string }> {
    if (!this.inFlight.tryStart()) return this.overloaded('end_download');
    return this.timed(
      'end_download',
      process.hrtime.bigint(),
      this.counted(
        this.control.usherEndDownload(
          ...scriptKeys(userKeys(this.prefix, userId)),
          sessionId,
          this.plans.defaultPlanName,
          this.plans.planTable(),
        ) as Promise<[number, string]>,
      ),
      ([removed, plan]) => ({ existed: removed === 1, plan }),
    );
  }

  /** The user's device registrations within the window (admin). */
  userDevices(userId: string): Promise<UserDevices> {
    if (!this.inFlight.tryStart()) return this.overloaded('user_devices');
    return this.timed(
      'user_devices',
      process.hrtime.bigint(),
      this.counted(
        this.control.usherUserDevices(
          ...scriptKeys(userKeys(this.prefix, userId)),
          this.plans.defaultPlanName,
          this.plans.planTable(),
        ) as Promise<[number, number, DeviceRow[]]>,
      ),
      ([maxDevices, deviceWindowHours, rows]) => ({
        maxDevices: maxDevices > 0 ? maxDevices : null,
        deviceWindowHours,
        devices: rows.map(([deviceId, firstSeenAt, lastSeenAt]) => ({
          deviceId,
          firstSeenAt,
          lastSeenAt,
        })),
      }),
    );
  }

  /** Frees one device registration (admin); says whether it was registered. */
  forgetDevice(userId: string, deviceId: string): Promise<boolean> {
    if (!this.inFlight.tryStart()) return this.overloaded('forget_device');
    return this.timed(
      'forget_device',
      process.hrtime.bigint(),
      this.counted(
        this.control.usherForgetDevice(
          ...scriptKeys(userKeys(this.prefix, userId)),
          deviceId,
        ) as Promise<number>,
      ),
      (removed) => removed === 1,
    );
  }

  /** Store calls outstanding in this process (tests and diagnostics). */
  get callsInFlight(): number {
    return this.inFlight.count;
  }

  private counted<T>(call: Promise<T>): Promise<T> {
    call.then(this.inFlight.landed, this.inFlight.landed);
    return call;
  }

  /** Past USHER_MAX_IN_FLIGHT: fails at once, adding nothing to a Redis that is already behind. */
  private overloaded<T>(operation: string): Promise<T> {
    this.metrics.storeErrors.inc({ operation, kind: 'overload' });
    return Promise.reject(
      new StoreError('overload', new Error('too many store calls in flight (USHER_MAX_IN_FLIGHT)')),
    );
  }

  /**
   * Times a store call issued at `started` (a process.hrtime.bigint() reading taken before it),
   * classifies its failure (usher_store_errors_total) and turns its reply into the result, all in
   * one promise step: on the hot path every extra promise and suspended frame is garbage that a
   * scavenge may find alive (docs/performance.md). What `toResult` throws is not a store failure.
   */
  private timed<Reply, Result>(
    operation: string,
    started: bigint,
    call: Promise<Reply>,
    toResult: (reply: Reply) => Result,
  ): Promise<Result> {
    return call.then(
      (reply) => {
        this.metrics.observeStore(operation, started);
        return toResult(reply);
      },
      (err: unknown) => {
        this.metrics.observeStore(operation, started);
        const failure = classify(err);
        this.metrics.storeErrors.inc({ operation, kind: failure.kind });
        throw failure;
      },
    );
  }
}
