import type { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { invalidRequest } from '../common/invalid-request';
import { idProblem } from '../common/ids';
import { validateHeartbeat } from '../heartbeat/heartbeat-request';
import { HeartbeatRequest, HeartbeatResponse } from '../heartbeat/heartbeat.schema';
import { HeartbeatService } from '../heartbeat/heartbeat.service';
import { PlanRegistry } from '../plans/plan-registry';
import { Drm } from '../common/drm';
import { ChallengeError, ChallengeParser, ChallengeReading } from './challenge';
import { readClearKey } from './clearkey-challenge';
import { readFairPlay } from './fairplay-challenge';
import { PlayerClaims, PlayerTokens } from './player-token';
import { readPlayReady } from './playready-challenge';
import { ProxyMetrics } from './proxy-metrics';
import { scopedRequestId } from './scoped-request-id';
import { UpstreamAnswer, UpstreamClient, UpstreamError } from './upstream-client';
import { TokenFields, UpstreamTokenMinter } from './upstream-token';
import { readWidevine } from './widevine-challenge';

const PARSERS: Record<Drm, ChallengeParser> = {
  widevine: readWidevine,
  playready: readPlayReady,
  fairplay: readFairPlay,
  clearkey: readClearKey,
};

/** Headers a player may send when its token does not carry the id (the token wins). */
export const SESSION_ID_HEADER = 'x-usher-session-id';
export const DEVICE_ID_HEADER = 'x-usher-device-id';

/** The licence policy of an allow answer, when the store provides one (docs/proxy.md). */
type Decided = HeartbeatResponse;

/** What became of one licence message; the route turns it into an HTTP answer. */
export type ProxyResult =
  | { kind: 'forwarded'; upstream: UpstreamAnswer; decision?: Decided }
  | { kind: 'denied'; decision: Decided }
  | { kind: 'upstream-failed'; error: UpstreamError; decision?: Decided };

/**
 * The licence proxy: player token → challenge → the same decision as a heartbeat (one store
 * call) → on allow, the untouched challenge to the upstream licence server. A 4xx (thrown as
 * an HttpException) leaves the store and the upstream untouched.
 */
@Injectable()
export class LicenseProxy {
  private readonly logger = new Logger('LicenseProxy');
  private readonly minter?: UpstreamTokenMinter;
  private readonly isPlan = (name: string) => this.plans.has(name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: PlayerTokens,
    private readonly heartbeats: HeartbeatService,
    private readonly plans: PlanRegistry,
    private readonly upstream: UpstreamClient,
    private readonly metrics: ProxyMetrics,
  ) {
    const tokenConfig = config.proxy.upstreamToken;
    if (tokenConfig) this.minter = new UpstreamTokenMinter(tokenConfig);
  }

  serves(drm: string): drm is Drm {
    return Object.prototype.hasOwnProperty.call(this.config.proxy.upstreams, drm);
  }

  async handle(drm: Drm, body: Buffer, headers: IncomingHttpHeaders): Promise<ProxyResult> {
    const claims = await this.tokens.claims(headers.authorization);
    const reading = read(drm, body, headers);
    const ids = playerIds(claims, headers);
    if (reading.kind === 'pass') {
      const fields: TokenFields = {
        userId: claims.userId,
        sessionId: ids.customSessionId,
        deviceId: ids.deviceId,
        contentId: claims.contentId,
        drm,
        plan: claims.plan,
      };
      return this.forward(drm, body, headers, fields);
    }
    const request = this.heartbeatRequest(drm, claims, ids, reading);
    const decision: Decided = await this.heartbeats.decide(request);
    if (reading.keyIds?.length) {
      // Key ids are not secret (they sit in the clear in every init segment); tokens and bytes are.
      this.logger.debug(
        `${drm} ${request.messageType} ${decision.decision}/${decision.reason} keys ${reading.keyIds.join(',')}`,
      );
    }
    if (decision.decision === 'deny') return { kind: 'denied', decision };
    const fields: TokenFields = {
      userId: request.userId,
      sessionId: decision.sessionId,
      deviceId: request.deviceId,
      contentId: request.contentId,
      drm,
      plan: decision.plan,
      license: decision.license,
    };
    return this.forward(drm, body, headers, fields, decision);
  }

  private heartbeatRequest(
    drm: Drm,
    claims: PlayerClaims,
    ids: { deviceId?: string; customSessionId?: string },
    reading: Extract<ChallengeReading, { kind: 'decide' }>,
  ): HeartbeatRequest {
    const candidate: Record<string, string> = { userId: claims.userId, drm };
    candidate.messageType = reading.messageType;
    if (reading.requestId) {
      const secret = this.config.sessionIdSecret;
      candidate.sessionId = scopedRequestId(secret, claims.userId, ids.deviceId, reading.requestId);
    }
    if (ids.customSessionId !== undefined) candidate.customSessionId = ids.customSessionId;
    if (ids.deviceId !== undefined) candidate.deviceId = ids.deviceId;
    if (claims.contentId !== undefined) candidate.contentId = claims.contentId;
    if (claims.plan !== undefined) candidate.plan = claims.plan;
    const { request, problems } = validateHeartbeat(candidate, this.isPlan);
    const mismatch =
      claims.licenseType && reading.licenseType && claims.licenseType !== reading.licenseType
        ? [
            `licenseType: the token says ${claims.licenseType} but the challenge asks for ${reading.licenseType}`,
          ]
        : [];
    if (!request || mismatch.length) throw invalidRequest([...problems, ...mismatch]);
    const licenseType = claims.licenseType ?? reading.licenseType;
    return licenseType ? { ...request, licenseType } : request;
  }

  private async forward(
    drm: Drm,
    body: Buffer,
    headers: IncomingHttpHeaders,
    fields: TokenFields,
    decision?: Decided,
  ): Promise<ProxyResult> {
    const outgoing: Record<string, string> = { ...this.config.proxy.upstreamHeaders };
    const contentType = headers['content-type'];
    if (contentType !== undefined) outgoing['content-type'] = contentType;
    // Some PlayReady servers dispatch on it: the message goes on as the player sent it.
    if (drm === 'playready' && typeof headers.soapaction === 'string') {
      outgoing.soapaction = headers.soapaction;
    }
    if (this.minter) outgoing[this.minter.header] = await this.minter.mint(fields);
    const started = process.hrtime.bigint();
    try {
      const upstream = await this.upstream.post(this.upstreamUrl(drm), outgoing, body);
      this.metrics.observeUpstream(drm, started);
      return { kind: 'forwarded', upstream, decision };
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      this.metrics.observeUpstream(drm, started);
      this.logger.warn(`${drm} licence server: ${err.kind} (${err.message})`);
      return { kind: 'upstream-failed', error: err, decision };
    }
  }

  private upstreamUrl(drm: Drm): string {
    return this.config.proxy.upstreams[drm] as string;
  }
}

function read(drm: Drm, body: Buffer, headers: IncomingHttpHeaders): ChallengeReading {
  try {
    return PARSERS[drm](body, headers);
  } catch (err) {
    if (err instanceof ChallengeError) throw invalidRequest([err.message]);
    throw err;
  }
}

/** The playback and device ids: from the token, else from the X-Usher-* headers. */
function playerIds(
  claims: PlayerClaims,
  headers: IncomingHttpHeaders,
): { deviceId?: string; customSessionId?: string } {
  const header = (name: string): string | undefined => {
    const value = headers[name];
    if (Array.isArray(value)) throw invalidRequest([`${name}: sent more than once`]);
    return value;
  };
  const ids = {
    deviceId: claims.deviceId ?? header(DEVICE_ID_HEADER),
    customSessionId: claims.sessionId ?? header(SESSION_ID_HEADER),
  };
  // Checked here too, not only by validateHeartbeat: undecided messages carry them upstream.
  for (const [field, id] of Object.entries(ids)) {
    const problem = id === undefined ? undefined : idProblem(field, id);
    if (problem) throw invalidRequest([problem]);
  }
  return ids;
}
