import { Drm } from '../common/drm';
import { StoredSession } from './session-store';

/** A session as the APIs show it (conflicts, evicted, admin look-up). */
export interface SessionView {
  sessionId: string;
  deviceId: string | null;
  drm: Drm;
  contentId: string | null;
  startedAt: string;
  lastSeenAt: string;
}

export function toSessionView(s: StoredSession): SessionView {
  return {
    sessionId: s.sessionId,
    deviceId: s.deviceId ?? null,
    drm: s.drm,
    contentId: s.contentId ?? null,
    startedAt: new Date(s.startedAt).toISOString(),
    lastSeenAt: new Date(s.lastSeenAt).toISOString(),
  };
}
