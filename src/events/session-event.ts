import { randomUUID } from 'node:crypto';
import { Drm } from '../common/drm';
import { HeartbeatInput, StoreDecision, StoredSession } from '../sessions/session-store';

export const SESSION_EVENT_TYPES = [
  'session.admitted',
  'session.denied',
  'session.evicted',
  'session.terminated',
  'session.released',
] as const;
export type SessionEventType = (typeof SESSION_EVENT_TYPES)[number];

/** Why it happened: the decision's reason, or for session.evicted / terminated the cause. */
export type SessionEventReason =
  | 'admitted'
  | 'released'
  | 'limit_exceeded'
  | 'session_revoked'
  | 'download_limit_exceeded'
  | 'content_limit_exceeded'
  | 'device_limit_exceeded'
  | 'evict_oldest'
  | 'limit_lowered'
  | 'takeover'
  | 'handoff'
  | 'terminated';

/** What webhook receivers get (docs/events.md). `id` is the idempotency key. */
export interface SessionEvent {
  type: SessionEventType;
  id: string;
  /** ISO 8601, the usher instance's clock when it took the decision. */
  occurredAt: string;
  userId: string;
  sessionId: string;
  deviceId: string | null;
  drm: Drm;
  contentId: string | null;
  plan: string;
  reason: SessionEventReason;
  /** persistent: the event is about a download (admitted, denied, returned). */
  licenseType: 'streaming' | 'persistent';
  /** Live slots of the user after the decision; null when usher did not know (terminated). */
  activeStreams: number | null;
  maxStreams: number | null;
}

export type SessionEventFields = Omit<SessionEvent, 'id' | 'occurredAt'>;

/** A new event (fresh id); fields in the documented order, so every payload reads alike. */
export function sessionEvent(f: SessionEventFields, at = new Date()): SessionEvent {
  return {
    type: f.type,
    id: randomUUID(),
    occurredAt: at.toISOString(),
    userId: f.userId,
    sessionId: f.sessionId,
    deviceId: f.deviceId,
    drm: f.drm,
    contentId: f.contentId,
    plan: f.plan,
    reason: f.reason,
    licenseType: f.licenseType,
    activeStreams: f.activeStreams,
    maxStreams: f.maxStreams,
  };
}

function deniedReason(reason: StoreDecision['reason']): SessionEventReason {
  return reason === 'session_revoked' ||
    reason === 'download_limit_exceeded' ||
    reason === 'content_limit_exceeded' ||
    reason === 'device_limit_exceeded'
    ? reason
    : 'limit_exceeded';
}

/**
 * The events of one heartbeat decision (pure; renewals have none):
 * admitted, denied (any deny), released, and evicted for every session a decision ended — the
 * sessions evict-oldest revoked, or under limit_lowered the denied session itself.
 */
export function decisionEvents(input: HeartbeatInput, d: StoreDecision): SessionEventFields[] {
  const counts = { plan: d.plan, activeStreams: d.activeStreams, maxStreams: d.maxStreams };
  const own = {
    userId: input.userId,
    sessionId: input.sessionId,
    deviceId: input.deviceId ?? null,
    drm: input.drm,
    contentId: input.contentId ?? null,
    licenseType: input.persistent ? ('persistent' as const) : ('streaming' as const),
    ...counts,
  };
  const events: SessionEventFields[] = [];
  if (d.decision === 'deny') {
    events.push({ ...own, type: 'session.denied', reason: deniedReason(d.reason) });
  } else if (d.reason === 'admitted') {
    events.push({ ...own, type: 'session.admitted', reason: 'admitted' });
  } else if (d.reason === 'released') {
    events.push({ ...own, type: 'session.released', reason: 'released' });
  }
  if (d.takenOver) {
    events.push({
      ...storedFields(input.userId, d.takenOver),
      ...counts,
      type: 'session.evicted',
      reason: 'takeover',
    });
  }
  if (d.removed?.cause === 'evict_oldest' || d.removed?.cause === 'handoff') {
    for (const s of d.sessions) {
      events.push({
        ...storedFields(input.userId, s),
        ...counts,
        type: 'session.evicted',
        reason: d.removed.cause,
      });
    }
  } else if (d.removed?.cause === 'limit_lowered') {
    events.push({ ...own, type: 'session.evicted', reason: 'limit_lowered' });
  }
  return events;
}

/** One session.terminated event per session an admin ended. */
export function terminationEvents(
  userId: string,
  ended: { plan: string; sessions: StoredSession[] },
  counts?: { activeStreams: number; maxStreams: number },
): SessionEventFields[] {
  return ended.sessions.map((s) => ({
    ...storedFields(userId, s),
    type: 'session.terminated',
    reason: 'terminated',
    plan: ended.plan,
    activeStreams: counts?.activeStreams ?? null,
    maxStreams: counts?.maxStreams ?? null,
  }));
}

function storedFields(userId: string, s: StoredSession) {
  return {
    userId,
    sessionId: s.sessionId,
    deviceId: s.deviceId ?? null,
    drm: s.drm,
    contentId: s.contentId ?? null,
    licenseType: 'streaming' as const,
  };
}
