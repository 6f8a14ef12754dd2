import { parse, Type } from 'protobufjs';
import { ChallengeError, ChallengeReading } from './challenge';

/**
 * The subset of the Widevine licence protocol usher reads, written from its public field
 * numbers. Unknown fields (client id, encrypted client id, request time, signature) are skipped.
 */
const WIDEVINE_PROTO = `
syntax = "proto2";
message SignedMessage {
  enum MessageType {
    LICENSE_REQUEST = 1;
    LICENSE = 2;
    ERROR_RESPONSE = 3;
    SERVICE_CERTIFICATE_REQUEST = 4;
  }
  optional MessageType type = 1;
  optional bytes msg = 2;
}
message LicenseIdentification {
  optional bytes request_id = 1;
  optional bytes session_id = 2;
}
message LicenseRequest {
  enum RequestType {
    NEW = 1;
    RENEWAL = 2;
    RELEASE = 3;
  }
  message ContentIdentification {
    message WidevinePsshData { optional bytes request_id = 3; }
    message WebmKeyId { optional bytes request_id = 3; }
    message ExistingLicense { optional LicenseIdentification license_id = 1; }
    message InitData { optional bytes request_id = 4; }
    oneof content_id_variant {
      WidevinePsshData widevine_pssh_data = 1;
      WebmKeyId webm_key_id = 2;
      ExistingLicense existing_license = 3;
      InitData init_data = 4;
    }
  }
  optional ContentIdentification content_id = 2;
  optional RequestType type = 3;
}
`;

const root = parse(WIDEVINE_PROTO, { keepCase: true }).root;
export const SignedMessage: Type = root.lookupType('SignedMessage');
export const LicenseRequest: Type = root.lookupType('LicenseRequest');

const LICENSE_REQUEST = 1;
const SERVICE_CERTIFICATE_REQUEST = 4;
const MESSAGE_TYPE = { 1: 'license-request', 2: 'license-renewal', 3: 'license-release' } as const;

interface Decoded {
  type?: number;
  msg?: Uint8Array;
  content_id?: {
    widevine_pssh_data?: { request_id?: Uint8Array };
    webm_key_id?: { request_id?: Uint8Array };
    existing_license?: { license_id?: { request_id?: Uint8Array } };
    init_data?: { request_id?: Uint8Array };
  };
}

function decode(type: Type, bytes: Uint8Array, what: string): Decoded {
  try {
    return type.toObject(type.decode(bytes), { enums: Number, defaults: false }) as Decoded;
  } catch {
    throw new ChallengeError(`body: not a Widevine ${what} (protobuf does not decode)`);
  }
}

function requestIdOf(request: Decoded): Uint8Array | undefined {
  const id = request.content_id;
  return (
    id?.widevine_pssh_data?.request_id ??
    id?.webm_key_id?.request_id ??
    id?.init_data?.request_id ??
    id?.existing_license?.license_id?.request_id
  );
}

/**
 * A Widevine SignedMessage: a LICENSE_REQUEST of type NEW, RENEWAL or RELEASE is decided; a
 * service-certificate request (`08 04`) passes undecided. The playback is the CDM's request_id:
 * in the NEW request, and echoed in existing_license.license_id of renewals and releases.
 */
export function readWidevine(body: Buffer): ChallengeReading {
  if (body.length === 0)
    throw new ChallengeError('body: empty (expected a Widevine SignedMessage)');
  const signed = decode(SignedMessage, body, 'SignedMessage');
  if (signed.type === SERVICE_CERTIFICATE_REQUEST) {
    // Only the bare request passes undecided: nothing may ride along to the licence server.
    if (signed.msg?.length)
      throw new ChallengeError('msg: a service-certificate request carries none');
    return { kind: 'pass', what: 'service-certificate-request' };
  }
  if (signed.type !== LICENSE_REQUEST) {
    throw new ChallengeError(
      `type: a SignedMessage of type ${signed.type ?? 'none'} is not a licence request`,
    );
  }
  if (!signed.msg?.length) throw new ChallengeError('msg: the SignedMessage carries no request');
  const request = decode(LicenseRequest, signed.msg, 'LicenseRequest');
  const messageType = MESSAGE_TYPE[request.type as keyof typeof MESSAGE_TYPE];
  if (!messageType) {
    throw new ChallengeError(
      `type: LicenseRequest type ${request.type ?? 'none'} is not NEW, RENEWAL or RELEASE`,
    );
  }
  const requestId = requestIdOf(request);
  if (messageType !== 'license-request' && !request.content_id?.existing_license?.license_id) {
    throw new ChallengeError(
      `content_id: a ${messageType === 'license-renewal' ? 'RENEWAL' : 'RELEASE'} must name its existing_license`,
    );
  }
  return {
    kind: 'decide',
    messageType,
    requestId: requestId?.length ? Buffer.from(requestId) : undefined,
  };
}
