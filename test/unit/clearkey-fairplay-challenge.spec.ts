import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChallengeError } from '../../src/proxy/challenge';
import { readClearKey } from '../../src/proxy/clearkey-challenge';
import { readFairPlay } from '../../src/proxy/fairplay-challenge';

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures/drm', name));
const KIDS = ['2f05477f-c24b-b4fa-efd8-6517156daffc', 'd0376d53-da1d-f818-792f-7c5bbf45dffc'];

describe('ClearKey challenges (W3C EME formats)', () => {
  it('the W3C licence request is a streaming license-request', () => {
    expect(readClearKey(fixture('clearkey_license_request_eme_example.json'))).toEqual({
      kind: 'decide',
      messageType: 'license-request',
      licenseType: 'streaming',
      keyIds: KIDS,
    });
  });

  it('the W3C release ({ kids } alone) is a license-release', () => {
    expect(readClearKey(fixture('clearkey_license_release_eme_example.json'))).toEqual({
      kind: 'decide',
      messageType: 'license-release',
      keyIds: KIDS,
    });
  });

  it('type persistent-license asks for a persistent licence', () => {
    const body = Buffer.from('{"kids":["LwVHf8JLtPrv2GUXFW2v_A"],"type":"persistent-license"}');
    expect(readClearKey(body)).toMatchObject({
      messageType: 'license-request',
      licenseType: 'persistent',
    });
  });

  it.each([
    ['not JSON', 'CAQ='],
    ['an array', '[]'],
    ['no kids', '{"type":"temporary"}'],
    ['empty kids', '{"kids":[],"type":"temporary"}'],
    ['a kid that is not 16 bytes', '{"kids":["AAAA"],"type":"temporary"}'],
    ['an unknown type', '{"kids":["LwVHf8JLtPrv2GUXFW2v_A"],"type":"forever"}'],
  ])('400s %s', (_name, body) => {
    expect(() => readClearKey(Buffer.from(body))).toThrow(ChallengeError);
  });
});

describe('FairPlay challenges (opaque SPC)', () => {
  const spc = Buffer.from('opaque-server-playback-context');

  it('every SPC is a license-request unless the app says otherwise', () => {
    expect(readFairPlay(spc, {})).toEqual({ kind: 'decide', messageType: 'license-request' });
    expect(readFairPlay(spc, { 'x-usher-message-type': 'license-renewal' })).toMatchObject({
      messageType: 'license-renewal',
    });
    expect(readFairPlay(spc, { 'x-usher-message-type': 'license-release' })).toMatchObject({
      messageType: 'license-release',
    });
  });

  it('400s an unknown X-Usher-Message-Type and an empty SPC', () => {
    expect(() => readFairPlay(spc, { 'x-usher-message-type': 'renew' })).toThrow(ChallengeError);
    expect(() => readFairPlay(Buffer.alloc(0), {})).toThrow(ChallengeError);
  });
});
