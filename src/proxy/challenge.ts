import type { IncomingHttpHeaders } from 'node:http';
import type { MessageType } from '../heartbeat/heartbeat.schema';

/** What a licence message is, read from its bytes by the DRM's rules (docs/proxy.md). */
export type ChallengeReading =
  | {
      /** A licence message: decided like a heartbeat before it is forwarded. */
      kind: 'decide';
      messageType: MessageType;
      /** Widevine's CDM-chosen request id (raw bytes); scoped by user and device before use. */
      requestId?: Buffer;
      licenseType?: 'streaming' | 'persistent';
      /** Key ids as UUIDs, for logs and events only: they change with key rotation. */
      keyIds?: string[];
    }
  | {
      /** Not a licence message (service certificate, acknowledgement): forwarded undecided. */
      kind: 'pass';
      what: string;
    };

/** A body that is not a message of its DRM: answered 400 with this text. */
export class ChallengeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChallengeError';
  }
}

export type ChallengeParser = (body: Buffer, headers: IncomingHttpHeaders) => ChallengeReading;

/** 16 key-id bytes in network (big-endian) order as a lower-case UUID. */
export function uuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
