import type { IncomingHttpHeaders } from 'node:http';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ChallengeError, ChallengeReading, uuid } from './challenge';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  // No entity expansion: a challenge never needs it, and it is a classic XML amplification.
  processEntities: false,
  parseTagValue: false,
  isArray: (name) => name === 'KID',
});

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Walks child elements by local name; undefined as soon as one is missing. */
function at(node: unknown, ...path: string[]): unknown {
  let current = node;
  for (const name of path) {
    if (!isNode(current)) return undefined;
    current = current[name];
  }
  return current;
}

/** A PlayReady KID: base64 of a GUID, whose first three fields are little-endian. */
export function playReadyKidToUuid(base64: string): string | undefined {
  const bytes = Buffer.from(base64.trim(), 'base64');
  if (bytes.length !== 16) return undefined;
  const swapped = Buffer.concat([
    Buffer.from(bytes.subarray(0, 4)).reverse(),
    Buffer.from(bytes.subarray(4, 6)).reverse(),
    Buffer.from(bytes.subarray(6, 8)).reverse(),
    bytes.subarray(8),
  ]);
  return uuid(swapped);
}

/** KIDs of a WRMHEADER: 4.0 `DATA/KID` text, or 4.1 `DATA/KID@VALUE`, 4.2+ `DATA/PROTECTINFO/KIDS/KID@VALUE`. */
export function wrmHeaderKids(wrmHeader: unknown): string[] {
  const data = at(wrmHeader, 'DATA');
  const candidates = [
    ...((at(data, 'KID') as unknown[]) ?? []),
    ...((at(data, 'PROTECTINFO', 'KIDS', 'KID') as unknown[]) ?? []),
    ...((at(data, 'PROTECTINFO', 'KID') as unknown[]) ?? []),
  ];
  const kids: string[] = [];
  for (const kid of candidates) {
    const text = typeof kid === 'string' ? kid : (at(kid, '@VALUE') ?? at(kid, '#text'));
    const id = typeof text === 'string' ? playReadyKidToUuid(text) : undefined;
    if (id && !kids.includes(id)) kids.push(id);
  }
  return kids;
}

/** The action a SOAPAction header names: its last path segment, without quotes. */
function headerAction(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.soapaction;
  if (typeof value !== 'string' || !value.trim()) return undefined;
  return value.trim().replace(/^"|"$/g, '').split('/').pop();
}

/**
 * A PlayReady SOAP message: AcquireLicense is a licence request (PlayReady has no renewal
 * message); any other action (acknowledgement, secure stop, metering) passes undecided.
 * The action comes from the SOAP body; a SOAPAction header that names another action is refused,
 * so that a licence server dispatching on the header can never be handed an undecided request.
 */
export function readPlayReady(body: Buffer, headers: IncomingHttpHeaders): ChallengeReading {
  const xml = body.toString('utf8');
  let doc: unknown;
  try {
    if (XMLValidator.validate(xml) !== true) throw new Error('invalid');
    // fast-xml-parser refuses nesting deeper than 100 elements (a challenge has about 12).
    doc = parser.parse(xml);
  } catch {
    throw new ChallengeError('body: not XML (PlayReady)');
  }
  const soapBody = at(doc, 'Envelope', 'Body');
  if (!isNode(soapBody)) throw new ChallengeError('body: not a SOAP envelope (PlayReady)');
  const actions = Object.keys(soapBody).filter((k) => !k.startsWith('@') && k !== '#text');
  if (actions.length !== 1) {
    throw new ChallengeError('body: the SOAP body must hold exactly one action (PlayReady)');
  }
  const action = actions[0];
  const said = headerAction(headers);
  if (said !== undefined && said !== action) {
    throw new ChallengeError(`SOAPAction: names ${said} but the SOAP body is ${action}`);
  }
  if (action !== 'AcquireLicense') return { kind: 'pass', what: action };
  const wrmHeader = at(
    soapBody,
    'AcquireLicense',
    'challenge',
    'Challenge',
    'LA',
    'ContentHeader',
    'WRMHEADER',
  );
  return { kind: 'decide', messageType: 'license-request', keyIds: wrmHeaderKids(wrmHeader) };
}
