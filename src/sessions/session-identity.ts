import { Drm } from '../common/drm';
import { createHmac } from 'node:crypto';

/** One letter per DRM keeps each stored session short (docs/performance.md: bytes per live session). */
export const DRM_LETTER: Record<Drm, string> = {
  widevine: 'w',
  playready: 'p',
  fairplay: 'f',
  clearkey: 'c',
};
const DRM_BY_LETTER = Object.fromEntries(Object.entries(DRM_LETTER).map(([d, l]) => [l, d]));

export function drmFromLetter(letter: string): Drm {
  return DRM_BY_LETTER[letter] as Drm;
}

export interface IdentityFields {
  userId: string;
  sessionId?: string;
  customSessionId?: string;
  deviceId?: string;
  contentId?: string;
}

/** '\n' cannot occur in any id (the request alphabet excludes it), so joins are unambiguous. */
const FIELD_SEPARATOR = '\n';

/**
 * A PlayReady session has no id of its own: derive one that is stable across renewals, key
 * rotation, instances and restarts, from who plays what where (README, "How a license server uses usher"). Never keys, nonces, times.
 */
export function synthesizeSessionId(
  secret: string,
  userId: string,
  deviceId: string,
  contentId = '',
): string {
  const mac = createHmac('sha256', secret)
    .update([userId, deviceId, contentId].join(FIELD_SEPARATOR))
    .digest('base64url');
  return `syn-${mac.slice(0, 22)}`;
}

/** customSessionId, else the DRM's own sessionId, else synthesized (needs deviceId), else undefined. */
export function effectiveSessionId(secret: string, fields: IdentityFields): string | undefined {
  if (fields.customSessionId) return fields.customSessionId;
  if (fields.sessionId) return fields.sessionId;
  if (!fields.deviceId) return undefined;
  return synthesizeSessionId(secret, fields.userId, fields.deviceId, fields.contentId);
}
