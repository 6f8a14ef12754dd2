import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChallengeError } from '../../src/proxy/challenge';
import { playReadyKidToUuid, readPlayReady } from '../../src/proxy/playready-challenge';

const fixture = (name: string) => readFileSync(join(__dirname, '../fixtures/drm', name));
const ACTION = 'http://schemas.microsoft.com/DRM/2007/03/protocols/';

const envelope = (body: string) =>
  Buffer.from(
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${body}</soap:Body></soap:Envelope>`,
  );
const acquire = (wrmHeader: string) =>
  envelope(
    `<AcquireLicense xmlns="http://schemas.microsoft.com/DRM/2007/03/protocols"><challenge><Challenge xmlns="http://schemas.microsoft.com/DRM/2007/03/protocols/messages"><LA><ContentHeader>${wrmHeader}</ContentHeader></LA></Challenge></challenge></AcquireLicense>`,
  );

describe('PlayReady challenges', () => {
  it('the Edge AcquireLicense is a license-request; its KID reads as a UUID (little-endian GUID)', () => {
    const reading = readPlayReady(fixture('pr_la_challenge_edge_win10_licensenonce_doc.xml'), {
      soapaction: `"${ACTION}AcquireLicense"`,
    });
    expect(reading).toEqual({
      kind: 'decide',
      messageType: 'license-request',
      // 4Rplb+TbNES8tGkNFWTEHA== is e1 1a 65 6f e4 db 34 44 bc b4 ...: the first three GUID fields swap.
      keyIds: ['6f651ae1-dbe4-4434-bcb4-690d1564c41c'],
    });
  });

  it('the challenge with CustomData is a license-request too (no SOAPAction header)', () => {
    expect(readPlayReady(fixture('pr_la_challenge_customdata_license_server_doc.xml'), {})).toEqual(
      {
        kind: 'decide',
        messageType: 'license-request',
        keyIds: ['33e0008c-c444-4770-9899-a321e079dd36'],
      },
    );
  });

  it('reads the KIDs of a 4.3 WRMHEADER (KIDS/KID@VALUE)', () => {
    const header = `<WRMHEADER xmlns="http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader" version="4.3.0.0"><DATA><PROTECTINFO><KIDS><KID ALGID="AESCTR" VALUE="4Rplb+TbNES8tGkNFWTEHA=="></KID><KID ALGID="AESCBC" VALUE="jADgM0TEcEeYmaMh4HndNg==" CHECKSUM="xxxx"/></KIDS></PROTECTINFO></DATA></WRMHEADER>`;
    expect(readPlayReady(acquire(header), {})).toMatchObject({
      keyIds: ['6f651ae1-dbe4-4434-bcb4-690d1564c41c', '33e0008c-c444-4770-9899-a321e079dd36'],
    });
  });

  it('reads the KID of a 4.0 WRMHEADER (DATA/KID)', () => {
    const header = `<WRMHEADER version="4.0.0.0"><DATA><PROTECTINFO><KEYLEN>16</KEYLEN><ALGID>AESCTR</ALGID></PROTECTINFO><KID>jADgM0TEcEeYmaMh4HndNg==</KID></DATA></WRMHEADER>`;
    expect(readPlayReady(acquire(header), {})).toMatchObject({
      keyIds: ['33e0008c-c444-4770-9899-a321e079dd36'],
    });
  });

  it('an AcquireLicense without a readable WRMHEADER is still a license-request', () => {
    expect(readPlayReady(acquire(''), {})).toEqual({
      kind: 'decide',
      messageType: 'license-request',
      keyIds: [],
    });
  });

  it.each(['AcknowledgeLicense', 'ProcessLicenseRelease'])(
    'other SOAP actions (%s) pass undecided',
    (action) => {
      const body = envelope(
        `<${action} xmlns="http://schemas.microsoft.com/DRM/2007/03/protocols"/>`,
      );
      expect(readPlayReady(body, { soapaction: `${ACTION}${action}` })).toEqual({
        kind: 'pass',
        what: action,
      });
    },
  );

  it('refuses a SOAPAction header that names another action than the body', () => {
    const body = envelope('<AcknowledgeLicense/>');
    expect(() => readPlayReady(body, { soapaction: `"${ACTION}AcquireLicense"` })).toThrow(
      /SOAPAction: names AcquireLicense but the SOAP body is AcknowledgeLicense/,
    );
  });

  it.each([
    ['not XML', Buffer.from('{"kids":[]}')],
    ['broken XML', Buffer.from('<soap:Envelope><soap:Body>')],
    ['XML but not SOAP', Buffer.from('<WRMHEADER version="4.0.0.0"/>')],
    ['an empty SOAP body', envelope('')],
    ['two actions', envelope('<AcquireLicense/><AcknowledgeLicense/>')],
    ['empty', Buffer.alloc(0)],
  ])('400s %s', (_name, body) => {
    expect(() => readPlayReady(body, {})).toThrow(ChallengeError);
  });

  it('a KID that is not 16 bytes is ignored', () => {
    expect(playReadyKidToUuid('AAAA')).toBeUndefined();
  });
});
