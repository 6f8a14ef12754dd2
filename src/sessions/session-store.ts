import { Plan } from '../config/plan';
import { MetricsService } from '../metrics/metrics.service';
import { PlanRegistry } from '../plans/plan-registry';
import { DeadlineExceededError, withDeadline } from '../redis/redis-connection';
import { WriteCoalescer } from '../redis/write-coalescer';
import { HeartbeatStore } from './heartbeat-store';
import {
  fastRenewal,
  fastRenewalPlan,
  heartbeatScript,
  heartbeatScriptArgs,
  loadSessionScripts,
  SCRIPT_KEY_COUNT,
  ScriptCalls,
  ScriptHost,
  ScriptName,
  UserBounds,
} from './heartbeat-script';
import { InFlightLimit } from './in-flight-limit';
import { encodePlanTable } from './plan-table';
import {
  toDecision,
  toEndedDownload,
  toTermination,
  toUserDevices,
  toUserSessions,
} from './script-replies';
import { scriptKeys, userKeys } from '../redis/user-keys';
import {
  HeartbeatInput,
  StoreDecision,
  StoredSession,
  StoreError,
  UserDevices,
  UserSessions,
} from './session-types';

// The store's types live beside it; its users import them from here.
export * from './session-types';

/** The message of the error ioredis rejects a command with when its commandTimeout passes. */
const IOREDIS_COMMAND_TIMEOUT = 'Command timed out';

function classify(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const message = (err as Error)?.message ?? '';
  // Our own deadline (the hot path), or ioredis' commandTimeout (the control connection).
  if (err instanceof DeadlineExceededError || message === IOREDIS_COMMAND_TIMEOUT) {
    return new StoreError('timeout', err);
  }
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
 * The connections the store runs its scripts on (RedisConnections has this shape): `hot` for
 * heartbeats, each call bounded by storeTimeoutMs, with `hotWrites` batching their writes, and
 * `control` for the admin look-ups and terminations (bounded by the client's command timeout).
 */
export interface StoreConnections {
  readonly hot: ScriptHost;
  readonly hotWrites: Pick<WriteCoalescer, 'send'>;
  readonly control: ScriptHost;
}

/** The store's settings (docs/architecture.md, "Key layout" and "Bounds"). */
export interface SessionStoreOptions {
  /** USHER_KEY_PREFIX: the first part of every key. */
  keyPrefix: string;
  /** USHER_STORE_TIMEOUT_MS: the hot path's bound on one store call. */
  storeTimeoutMs: number;
  /** The per-user bounds every writing script enforces. */
  bounds: UserBounds;
  /** USHER_MAX_IN_FLIGHT: store calls this process may have outstanding. */
  maxInFlight: number;
}

/** What the store reads of the plans: the encoded table the scripts take, and the fallback. */
export type StorePlans = Pick<PlanRegistry, 'defaultPlanName' | 'planFor' | 'current'>;
/** What the store records: each call's time and each failure's kind. */
export type StoreMetrics = Pick<MetricsService, 'observeStore' | 'storeErrors'>;

/**
 * Owns the session key layout and the per-user scripts: every decision about slots, sessions
 * and revocations is one script call, atomic per user, timed by the Redis server's clock.
 * Built by SessionsModule from RedisConnections and AppConfig.
 */
export class SessionStore implements HeartbeatStore {
  private readonly hot: ScriptHost & ScriptCalls;
  private readonly hotWrites: Pick<WriteCoalescer, 'send'>;
  private readonly control: ScriptCalls;
  private readonly prefix: string;
  private readonly storeTimeoutMs: number;
  private readonly bounds: UserBounds;
  private readonly inFlight: InFlightLimit;
  /** The plan table the scripts read, and the plans it (and the heartbeat script) came from. */
  private table = { of: undefined as ReadonlyMap<string, Plan> | undefined, encoded: '\n' };

  /** `scripts`: the Lua the store runs, lua/*.lua by default (a test may run a variant). */
  constructor(
    connections: StoreConnections,
    options: SessionStoreOptions,
    private readonly plans: StorePlans,
    private readonly metrics: StoreMetrics,
    private readonly scripts: Readonly<Record<ScriptName, string>> = loadSessionScripts(),
  ) {
    // The heartbeat script (hot connection only) is defined per plan version: heartbeatScript.
    for (const client of [connections.hot, connections.control]) {
      for (const [name, lua] of Object.entries(scripts)) {
        if (name !== 'usherHeartbeat') {
          client.defineCommand(name, { numberOfKeys: SCRIPT_KEY_COUNT, lua });
        }
      }
    }
    // defineCommand has added the script commands.
    this.hot = connections.hot as ScriptHost & ScriptCalls;
    this.hotWrites = connections.hotWrites;
    this.control = connections.control as ScriptHost & ScriptCalls;
    this.prefix = options.keyPrefix;
    this.storeTimeoutMs = options.storeTimeoutMs;
    this.bounds = { ...options.bounds };
    this.inFlight = new InFlightLimit(options.maxInFlight);
  }

  /**
   * The plan table the scripts read. When the registry's plans have changed it is encoded again
   * and the hot connection's heartbeat script, which holds it as a constant, is defined again (a
   * new SHA, loaded by its first call on each connection): both follow the same plans.
   */
  private planTable(): string {
    const plans = this.plans.current;
    if (plans !== this.table.of) {
      const encoded = encodePlanTable(plans.values());
      const lua = heartbeatScript(
        this.scripts.usherHeartbeat,
        encoded,
        this.plans.defaultPlanName,
        this.bounds,
      );
      this.hot.defineCommand('usherHeartbeat', { numberOfKeys: SCRIPT_KEY_COUNT, lua });
      this.table = { of: plans, encoded };
    }
    return this.table.encoded;
  }

  /**
   * The whole decision of one heartbeat: one EVALSHA, bounded by USHER_STORE_TIMEOUT_MS, and
   * answered at once (nothing written to Redis) while USHER_MAX_IN_FLIGHT calls are outstanding.
   */
  heartbeat(input: HeartbeatInput): Promise<StoreDecision> {
    if (!this.inFlight.tryStart()) return this.overloaded('heartbeat');
    const fast = fastRenewalPlan(input, this.plans.planFor(input.plan));
    this.planTable(); // (the heartbeat script holds the table: defined for the plans in force)
    const sent = this.hotWrites.send(() =>
      this.hot.usherHeartbeat(...heartbeatScriptArgs(this.prefix, input, fast)),
    );
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
          this.planTable(),
        ),
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
          this.planTable(),
          this.bounds.maxEntriesPerUser,
        ),
      ),
      toTermination,
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
          this.planTable(),
        ),
      ),
      toEndedDownload,
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
          this.planTable(),
        ),
      ),
      toUserDevices,
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
