import { createHmac } from 'node:crypto';

/**
 * The native session id of a Widevine playback: the CDM's request_id is not unique across
 * devices (Android CDMs use counter-like values), so it is scoped by user and device. Keyed like
 * a synthesized id, so it is stable across instances and restarts and reveals nothing; 22
 * base64url characters fit the id alphabet. '\n' cannot occur in a user or device id.
 */
export function scopedRequestId(
  secret: string,
  userId: string,
  deviceId: string | undefined,
  requestId: Buffer,
): string {
  const mac = createHmac('sha256', secret)
    .update(['widevine-request', userId, deviceId ?? '', requestId.toString('hex')].join('\n'))
    .digest('base64url');
  return `wv-${mac.slice(0, 22)}`;
}
