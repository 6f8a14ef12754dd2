import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { invalidRequest } from '../common/invalid-request';
import { SessionEvents } from '../events/session-events';
import { SlotSightings } from '../events/slot-sightings';
import { MetricsService } from '../metrics/metrics.service';
import { PlanRegistry } from '../plans/plan-registry';
import { effectiveSessionId } from '../sessions/session-identity';
import {
  DeviceRequiredError,
  HeartbeatInput,
  SessionStore,
  StoreDecision,
  StoreError,
} from '../sessions/session-store';
import { SessionView, toSessionView } from '../sessions/session-view';
import { HeartbeatRequest } from './heartbeat-request';

export interface HeartbeatResponse {
  decision: 'allow' | 'deny';
  reason: StoreDecision['reason'] | 'degraded';
  sessionId: string;
  plan: string;
  countBy: StoreDecision['countBy'];
  activeStreams: number;
  maxStreams: number;
  renewAfterSeconds: number;
  expiresInSeconds: number;
  evicted: SessionView[];
  conflicts: SessionView[];
}

/** The renewal-check: identity → one store call → metrics → response (STYLE "hot path"). */
@Injectable()
export class HeartbeatService {
  private readonly logger = new Logger('Heartbeat');
  private storeAnswering = true;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly store: SessionStore,
    private readonly plans: PlanRegistry,
    private readonly metrics: MetricsService,
    private readonly events: SessionEvents,
    private readonly sightings: SlotSightings,
  ) {}

  /** A promise chain, not an async function: one promise fewer per heartbeat (see SessionStore). */
  decide(request: HeartbeatRequest): Promise<HeartbeatResponse> {
    const started = process.hrtime.bigint();
    // validateHeartbeat guarantees an id source (customSessionId, sessionId or deviceId).
    const sessionId = effectiveSessionId(this.config.sessionIdSecret, request) as string;
    const input: HeartbeatInput = {
      userId: request.userId,
      release: request.messageType === 'license-release',
      sessionId,
      deviceId: request.deviceId,
      drm: request.drm,
      contentId: request.contentId,
      plan: request.plan,
    };
    return this.store.heartbeat(input).then(
      (decision) => {
        this.storeRecovered();
        const response = this.respond(sessionId, decision);
        // Both only hand data over in memory: no I/O, no waiting, never a throw (STYLE hot path).
        this.events.decided(input, decision);
        this.sightings.sighted(input, decision);
        if (decision.removed) {
          this.metrics.evictions.inc(
            { plan: decision.plan, cause: decision.removed.cause },
            decision.removed.slots,
          );
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

  private respond(sessionId: string, d: StoreDecision): HeartbeatResponse {
    const live = d.decision === 'allow' && d.reason !== 'released';
    const listed = d.sessions.map(toSessionView);
    return {
      decision: d.decision,
      reason: d.reason,
      sessionId,
      plan: d.plan,
      countBy: d.countBy,
      activeStreams: d.activeStreams,
      maxStreams: d.maxStreams,
      renewAfterSeconds: d.renewalIntervalSeconds,
      expiresInSeconds: live ? d.renewalIntervalSeconds + d.graceSeconds : 0,
      evicted: d.decision === 'allow' ? listed : [],
      conflicts: d.decision === 'deny' ? listed : [],
    };
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
    return {
      decision: 'allow',
      reason: 'degraded',
      sessionId,
      plan: plan.name,
      countBy: plan.countBy,
      activeStreams: 0,
      maxStreams: plan.maxStreams,
      renewAfterSeconds: plan.renewalIntervalSeconds,
      expiresInSeconds: plan.renewalIntervalSeconds + plan.graceSeconds,
      evicted: [],
      conflicts: [],
    };
  }

  private storeRecovered(): void {
    if (!this.storeAnswering) {
      this.storeAnswering = true;
      this.logger.log('store answering again');
    }
  }
}
