import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** One licence request as the upstream received it. */
export interface LicenceRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The key ids asked for (base64url), when the body was a ClearKey request. */
  kids: string[];
}

/** A ClearKey licence server on loopback: the "upstream" a DRM vendor would run. */
export interface ClearKeyServer {
  url: string;
  /** Every POST it answered, in order (preflights are not recorded). */
  requests: LicenceRequest[];
  /** Replaces the keys it hands out (kid → key, both base64url). */
  setKeys(keys: Map<string, string>): void;
  close(): Promise<void>;
}

export function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

function kidsOf(body: Buffer): string[] {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    const kids = (parsed as { kids?: unknown }).kids;
    return Array.isArray(kids) ? kids.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Answers the EME ClearKey licence format: for `{ kids, type }` it returns
 * `{ keys: [{ kty: 'oct', kid, k }], type }` with the keys it knows among those asked for.
 * Browsers call it cross-origin, so it answers CORS (preflight included) for any origin.
 */
export async function startClearKeyServer(keys: Map<string, string>): Promise<ClearKeyServer> {
  let known = new Map(keys);
  const requests: LicenceRequest[] = [];
  const server: Server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      res.setHeader(
        'Access-Control-Allow-Headers',
        req.headers['access-control-request-headers'] ?? '',
      );
      res.writeHead(204).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const kids = kidsOf(body);
      requests.push({ path: req.url ?? '', headers: req.headers, body, kids });
      if (req.method !== 'POST' || kids.length === 0) {
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end('not a ClearKey licence request');
        return;
      }
      const type = (JSON.parse(body.toString('utf8')) as { type?: string }).type ?? 'temporary';
      const found = kids.flatMap((kid) => {
        const k = known.get(kid);
        return k ? [{ kty: 'oct', kid, k }] : [];
      });
      res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ keys: found, type }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/clearkey/licence`,
    requests,
    setKeys: (next) => {
      known = new Map(next);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
