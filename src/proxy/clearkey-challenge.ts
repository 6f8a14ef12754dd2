import { ChallengeError, ChallengeReading, uuid } from './challenge';

const KID = /^[A-Za-z0-9_-]{22}$/;
const MAX_KIDS = 64;

/**
 * The W3C EME ClearKey formats: a licence request is `{ "kids": [...], "type": "temporary" |
 * "persistent-license" }`; a release is `{ "kids": [...] }` alone. Key ids are base64url.
 */
export function readClearKey(body: Buffer): ChallengeReading {
  let message: unknown;
  try {
    message = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ChallengeError('body: not a ClearKey message (not JSON)');
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new ChallengeError('body: not a ClearKey message (not a JSON object)');
  }
  const { kids, type } = message as Record<string, unknown>;
  if (
    !Array.isArray(kids) ||
    kids.length === 0 ||
    kids.length > MAX_KIDS ||
    !kids.every((k) => typeof k === 'string' && KID.test(k))
  ) {
    throw new ChallengeError(
      `kids: must be 1-${MAX_KIDS} base64url key ids of 16 bytes (ClearKey format)`,
    );
  }
  const keyIds = (kids as string[]).map((k) => uuid(Buffer.from(k, 'base64url')));
  if (type === undefined) return { kind: 'decide', messageType: 'license-release', keyIds };
  if (type !== 'temporary' && type !== 'persistent-license') {
    throw new ChallengeError('type: must be temporary or persistent-license');
  }
  return {
    kind: 'decide',
    messageType: 'license-request',
    licenseType: type === 'persistent-license' ? 'persistent' : 'streaming',
    keyIds,
  };
}
