import { Injectable, Logger, Optional } from '@nestjs/common';
import { Caller } from '../auth/roles';
import { SessionEvents } from '../events/session-events';
import { MetricsService } from '../metrics/metrics.service';
import { SessionStore, StoredSession } from '../sessions/session-store';
import { SessionView, toSessionView } from '../sessions/session-view';
import { DeviceView, toDeviceView } from '../sessions/device-view';
import { assertIds } from './admin-validation';
import { AuditLog } from './audit-log';

export interface UserSessionView extends SessionView {
  /** When the session lapses without another heartbeat. */
  expiresAt: string;
}

export interface UserSessionsView {
  userId: string;
  plan: string;
  countBy: 'session' | 'device';
  maxStreams: number;
  activeStreams: number;
  sessions: UserSessionView[];
  /** The effective maxDownloads; null when the plan does not count downloads. */
  maxDownloads: number | null;
  /** Live downloads (persistent licences), soonest to lapse first; expiresAt: when it lapses. */
  downloads: UserSessionView[];
}

export interface UserDevicesView {
  userId: string;
  /** The effective maxDevices; null when the plan does not cap devices. */
  maxDevices: number | null;
  deviceWindowHours: number;
  devices: DeviceView[];
}

/** Support staff's view of a user's live sessions, and termination (slot freed, session revoked). */
@Injectable()
export class SessionsAdminService {
  private readonly logger = new Logger('Admin');

  constructor(
    private readonly sessions: SessionStore,
    private readonly metrics: MetricsService,
    private readonly audit: AuditLog,
    @Optional() private readonly events?: SessionEvents,
  ) {}

  async list(userId: string): Promise<UserSessionsView> {
    assertIds({ userId });
    const found = await this.sessions.userSessions(userId);
    const lifetimeMs = (found.renewalIntervalSeconds + found.graceSeconds) * 1000;
    return {
      userId,
      plan: found.plan,
      countBy: found.countBy,
      maxStreams: found.maxStreams,
      activeStreams: found.activeStreams,
      sessions: found.sessions.map((s) => ({
        ...toSessionView(s),
        expiresAt: new Date(s.lastSeenAt + lifetimeMs).toISOString(),
      })),
      maxDownloads: found.maxDownloads,
      downloads: found.downloads.map((d) => ({
        ...toSessionView(d),
        expiresAt: new Date(d.expiresAt).toISOString(),
      })),
    };
  }

  /** The user's registered devices within the window (maxDevices). */
  async devices(userId: string): Promise<UserDevicesView> {
    assertIds({ userId });
    const found = await this.sessions.userDevices(userId);
    return {
      userId,
      maxDevices: found.maxDevices,
      deviceWindowHours: found.deviceWindowHours,
      devices: found.devices.map(toDeviceView),
    };
  }

  /** Frees one device registration: another device may then register. */
  async forgetDevice(caller: Caller, userId: string, deviceId: string): Promise<void> {
    assertIds({ userId, deviceId });
    const existed = await this.sessions.forgetDevice(userId, deviceId);
    this.audit.record(caller, 'devices.forget', { userId, deviceId }, null, { existed });
  }

  /** Ends one download now: its place under maxDownloads is free at once. */
  async endDownload(caller: Caller, userId: string, sessionId: string): Promise<void> {
    assertIds({ userId, sessionId });
    const { existed, plan } = await this.sessions.endDownload(userId, sessionId);
    if (existed) this.metrics.downloads.inc({ plan, outcome: 'ended' });
    this.audit.record(caller, 'downloads.end', { userId, sessionId }, null, { existed });
  }

  /** Ends one session (revoked even when unknown, so it cannot start later) or all of them. */
  async terminate(caller: Caller, userId: string, sessionId?: string): Promise<void> {
    assertIds({ userId, sessionId });
    const { plan, sessions } = await this.sessions.terminate(userId, sessionId);
    if (sessions.length) {
      this.metrics.evictions.inc({ plan, cause: 'terminated' }, sessions.length);
      this.publish(userId, plan, sessions);
    }
    this.audit.record(
      caller,
      'sessions.terminate',
      sessionId === undefined ? { userId } : { userId, sessionId },
      sessions.map(toSessionView),
      { revoked: sessionId === undefined ? sessions.map((s) => s.sessionId) : [sessionId] },
    );
  }

  /** Handed to the bounded publisher, never awaited: events cannot fail a termination. */
  private publish(userId: string, plan: string, sessions: StoredSession[]): void {
    try {
      this.events?.terminated(userId, { plan, sessions });
    } catch (err) {
      this.logger.error(`cannot publish session.terminated: ${(err as Error).message}`);
    }
  }
}
