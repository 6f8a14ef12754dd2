import type { IncomingHttpHeaders } from 'node:http';
import { MESSAGE_TYPES, MessageType } from '../heartbeat/heartbeat.schema';
import { ChallengeError, ChallengeReading } from './challenge';

export const MESSAGE_TYPE_HEADER = 'x-usher-message-type';

/**
 * A FairPlay SPC is encrypted end to end: nothing in it is readable without the provider's key.
 * Every SPC is a licence request unless the app says otherwise in X-Usher-Message-Type.
 */
export function readFairPlay(body: Buffer, headers: IncomingHttpHeaders): ChallengeReading {
  if (body.length === 0) throw new ChallengeError('body: empty (expected a FairPlay SPC)');
  const said = headers[MESSAGE_TYPE_HEADER];
  if (said === undefined) return { kind: 'decide', messageType: 'license-request' };
  if (typeof said !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(said)) {
    throw new ChallengeError(`X-Usher-Message-Type: must be one of ${MESSAGE_TYPES.join(', ')}`);
  }
  return { kind: 'decide', messageType: said as MessageType };
}
