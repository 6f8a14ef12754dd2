import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { invalidRequest } from '../common/invalid-request';
import { SessionEvents } from '../events/session-events';
import { SlotSightings } from '../active-slots/slot-sightings';
import { MetricsService } from '../metrics/metrics.service';
import { PlanRegistry } from '../plans/plan-registry';
import { effectiveSessionId } from '../sessions/session-identity';
import { HEARTBEAT_STORE, HeartbeatStore } from '../sessions/heartbeat-store';
import {
  DeviceRequiredError,
  HeartbeatInput,
  StoreDecision,
  StoreError,
} from '../sessions/session-types';
import { toSessionView } from '../sessions/session-view';
import { toDeviceView } from '../sessions/device-view';
import { HeartbeatRequest, HeartbeatResponse } from './heartbeat.schema';
import { LicensePolicy, licensePolicy, LicenseType } from './license-policy';
import { Plan } from '../config/plan';

/** usher_downloads_total's outcome per decision reason of a persistent licence. */
const DOWNLOAD_OUTCOMES: Partial<Record<StoreDecision['reason'], string>> = {
  admitted: 'admitted',
  renewed: 'reissued',
  download_limit_exceeded: 'denied',
  released: 'returned',
};

/** The renewal-check: identity → one store call → metrics → response (docs/architecture.md, "The hot path"). */
@Injectable()
export class HeartbeatService {
  private readonly logger = new Logger('Heartbeat');
  private storeAnswering = true;
  private readonly licenses = new WeakMap<Plan, Record<LicenseType, LicensePolicy>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(HEARTBEAT_STORE) private readonly store: HeartbeatStore,
    private readonly plans: PlanRegistry,
    private readonly metrics: MetricsService,
    private readonly events: SessionEvents,
    private readonly sightings: SlotSightings,
  ) {}

  /** A promise chain, not an async function: one promise fewer per heartbeat (see SessionStore). */
  decide(request: HeartbeatRequest): Promise<HeartbeatResponse> {
    const started = process.hrtime.bigint();
    // heartbeatProblems guarantees an id source (customSessionId, sessionId or deviceId).
    const sessionId = effectiveSessionId(this.config.sessionIdSecret, request) as string;
    const input: HeartbeatInput = {
      userId: request.userId,
      release: request.messageType === 'license-release',
      sessionId,
      deviceId: request.deviceId,
      drm: request.drm,
      contentId: request.contentId,
      plan: request.plan,
      persistent: request.licenseType === 'persistent',
    };
    if (request.takeoverSessionId !== undefined && request.messageType === 'license-request') {
      input.takeoverSessionId = request.takeoverSessionId;
    }
    return this.store.heartbeat(input).then(
      (decision) => {
        this.storeRecovered();
        const response = this.respond(sessionId, input.persistent === true, decision);
        // Both only hand data over in memory: no I/O, no waiting, never a throw (docs/architecture.md).
        this.events.decided(input, decision);
        this.sightings.sighted(input, decision);
        if (input.persistent) this.countDownload(decision);
        if (decision.removed) {
          this.metrics.evictions.inc(
            { plan: decision.plan, cause: decision.removed.cause },
            decision.removed.slots,
          );
        }
        if (decision.takenOver) {
          this.metrics.evictions.inc({ plan: decision.plan, cause: 'takeover' });
        }
        if (decision.shadow?.decision === 'deny') {
          this.metrics.shadowDenials.inc({ plan: decision.plan, reason: decision.shadow.reason });
        }
        return this.answered(request, response, started);
      },
      (err: unknown) => {
        if (err instanceof DeviceRequiredError) throw invalidRequest([err.message]);
        if (!(err instanceof StoreError)) throw err;
        return this.answered(request, this.degraded(sessionId, request, err), started);
      },
    );
  }

  private answered(
    request: HeartbeatRequest,
    response: HeartbeatResponse,
    started: bigint,
  ): HeartbeatResponse {
    this.metrics.countHeartbeat(
      response.decision,
      response.reason,
      request.drm,
      request.messageType,
      response.plan,
    );
    this.metrics.observeHeartbeat(response.decision, started);
    return response;
  }

  private respond(sessionId: string, persistent: boolean, d: StoreDecision): HeartbeatResponse {
    const live = d.decision === 'allow' && d.reason !== 'released';
    const listed = d.sessions.map(toSessionView);
    const response: HeartbeatResponse = {
      decision: d.decision,
      reason: d.reason,
      sessionId,
      plan: d.plan,
      countBy: d.countBy,
      activeStreams: d.activeStreams,
      maxStreams: d.maxStreams,
      // a download is not renewed; it lives until it is returned or lapses
      renewAfterSeconds: persistent ? 0 : d.renewalIntervalSeconds,
      expiresInSeconds: !live
        ? 0
        : persistent
          ? Math.ceil((d.downloadLapseMs ?? 0) / 1000)
          : d.renewalIntervalSeconds + d.graceSeconds,
      evicted: d.decision === 'allow' ? listed : [],
      conflicts: d.decision === 'deny' ? listed : [],
    };
    if (d.takenOver) response.evicted.unshift(toSessionView(d.takenOver));
    if (d.decision === 'allow') response.license = this.license(persistent, d.plan);
    if (d.shadow) {
      response.shadow = {
        decision: d.shadow.decision,
        reason: d.shadow.reason,
        evicted: d.shadow.evicted.map(toSessionView),
      };
    }
    if (d.devices) response.devices = d.devices.map(toDeviceView);
    return response;
  }

  /**
   * The licence policy of a plan, built once per plan object (the registry replaces a plan's
   * object when it changes) and shared by every answer: no allocation per heartbeat. Overrides
   * never change the fields it depends on.
   */
  private license(persistent: boolean, planName: string): LicensePolicy {
    const plan = this.plans.planFor(planName);
    let policies = this.licenses.get(plan);
    if (!policies) {
      policies = {
        streaming: Object.freeze(licensePolicy('streaming', plan)),
        persistent: Object.freeze(licensePolicy('persistent', plan)),
      };
      this.licenses.set(plan, policies);
    }
    return persistent ? policies.persistent : policies.streaming;
  }

  /** The store did not answer in time: allow (open) or 503 (closed), never wait longer. */
  private degraded(
    sessionId: string,
    request: HeartbeatRequest,
    err: StoreError,
  ): HeartbeatResponse {
    this.metrics.degradedDecisions.inc({ fail_mode: this.config.failMode });
    if (this.storeAnswering) {
      this.storeAnswering = false;
      this.logger.warn(`store not answering (${err.message}); fail mode ${this.config.failMode}`);
    }
    if (this.config.failMode === 'closed') {
      throw new ServiceUnavailableException(
        'the session store is unavailable (USHER_FAIL_MODE=closed)',
      );
    }
    const plan = this.plans.planFor(request.plan);
    const license = this.license(request.licenseType === 'persistent', plan.name);
    return {
      decision: 'allow',
      reason: 'degraded',
      sessionId,
      plan: plan.name,
      countBy: plan.countBy,
      activeStreams: 0,
      maxStreams: plan.maxStreams,
      renewAfterSeconds: license.renewalDelaySeconds,
      expiresInSeconds: license.licenseDurationSeconds,
      evicted: [],
      conflicts: [],
      license,
    };
  }

  private countDownload(d: StoreDecision): void {
    const outcome = DOWNLOAD_OUTCOMES[d.reason];
    if (outcome) this.metrics.downloads.inc({ plan: d.plan, outcome });
  }

  private storeRecovered(): void {
    if (!this.storeAnswering) {
      this.storeAnswering = true;
      this.logger.log('store answering again');
    }
  }
}
