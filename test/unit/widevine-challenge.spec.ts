import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChallengeError } from '../../src/proxy/challenge';
import { scopedRequestId } from '../../src/proxy/scoped-request-id';
import { LicenseRequest, readWidevine, SignedMessage } from '../../src/proxy/widevine-challenge';

const fixture = (name: string) =>
  Buffer.from(readFileSync(join(__dirname, '../fixtures/drm', name), 'utf8').trim(), 'base64');

/** Encodes a SignedMessage{LICENSE_REQUEST, msg: LicenseRequest} with protobufjs. */
function signed(request: Record<string, unknown>, type = 1): Buffer {
  const msg = LicenseRequest.encode(LicenseRequest.fromObject(request)).finish();
  return Buffer.from(SignedMessage.encode(SignedMessage.fromObject({ type, msg })).finish());
}

const REQUEST_ID = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const existingLicense = (requestId: Buffer) => ({
  content_id: {
    existing_license: { license_id: { request_id: requestId, session_id: Buffer.from('s1') } },
  },
});

describe('Widevine challenges', () => {
  it.each([
    ['wv_new_chrome_privacy_2019.b64', 'bb755aca4a386617cfda57c25900fe0e'],
    ['wv_new_chrome_privacy_2017.b64', '489dcef33244b38cc599acac6b5e070b'],
  ])('a real Chrome NEW request (%s) is a license-request with its request id', (file, id) => {
    const reading = readWidevine(fixture(file));
    expect(reading).toEqual({
      kind: 'decide',
      messageType: 'license-request',
      requestId: Buffer.from(id, 'hex'),
    });
  });

  it('a RENEWAL carries the request id of its licence in existing_license', () => {
    expect(readWidevine(signed({ type: 2, ...existingLicense(REQUEST_ID) }))).toEqual({
      kind: 'decide',
      messageType: 'license-renewal',
      requestId: REQUEST_ID,
    });
  });

  it('a RELEASE is a license-release of the same request id', () => {
    expect(readWidevine(signed({ type: 3, ...existingLicense(REQUEST_ID) }))).toMatchObject({
      messageType: 'license-release',
      requestId: REQUEST_ID,
    });
  });

  it('reads the request id of webm_key_id and init_data requests too', () => {
    const webm = signed({ type: 1, content_id: { webm_key_id: { request_id: REQUEST_ID } } });
    const init = signed({ type: 1, content_id: { init_data: { request_id: REQUEST_ID } } });
    expect(readWidevine(webm)).toMatchObject({ requestId: REQUEST_ID });
    expect(readWidevine(init)).toMatchObject({ requestId: REQUEST_ID });
  });

  it('a NEW request without a request id decides without a native id', () => {
    expect(readWidevine(signed({ type: 1 }))).toEqual({
      kind: 'decide',
      messageType: 'license-request',
      requestId: undefined,
    });
  });

  it('the service-certificate request (08 04) passes undecided', () => {
    expect(readWidevine(Buffer.from('CAQ=', 'base64'))).toEqual({
      kind: 'pass',
      what: 'service-certificate-request',
    });
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('hello, licence server')],
    ['truncated protobuf', fixture('wv_new_chrome_privacy_2019.b64').subarray(0, 40)],
    ['a LICENSE (answer) message', Buffer.from(SignedMessage.encode({ type: 2 }).finish())],
    ['a LICENSE_REQUEST without msg', Buffer.from(SignedMessage.encode({ type: 1 }).finish())],
    ['a LicenseRequest of unknown type', signed({ type: 9 })],
    ['a RENEWAL without existing_license', signed({ type: 2 })],
    ['a service-certificate request carrying a licence request', signed({ type: 1 }, 4)],
    ['ClearKey JSON', Buffer.from('{"kids":["LwVHf8JLtPrv2GUXFW2v_A"],"type":"temporary"}')],
  ])('refuses garbage: %s', (_name, body) => {
    expect(() => readWidevine(body)).toThrow(ChallengeError);
  });

  it('scopes a request id by user and device: counter-like ids of two devices never collide', () => {
    const id = Buffer.from([0, 0, 0, 1]);
    const a = scopedRequestId('k', 'user-1', 'phone', id);
    expect(a).toMatch(/^wv-[A-Za-z0-9_-]{22}$/);
    expect(scopedRequestId('k', 'user-1', 'phone', id)).toBe(a);
    expect(scopedRequestId('k', 'user-1', 'tablet', id)).not.toBe(a);
    expect(scopedRequestId('k', 'user-2', 'phone', id)).not.toBe(a);
    expect(scopedRequestId('k', 'user-1', undefined, id)).not.toBe(a);
  });
});
