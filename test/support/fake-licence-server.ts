import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** One request the fake licence server received. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Answer {
  status?: number;
  contentType?: string;
  body?: Buffer | string;
  /** Wait this long before answering (to provoke the proxy's timeout). */
  delayMs?: number;
}

/**
 * A licence server on loopback that records every request and answers what the test says
 * (by default 200 with a recognisable body). Stands in for a DRM vendor's server.
 */
export class FakeLicenceServer {
  readonly received: Received[] = [];
  answer: Answer = {};
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        });
        const {
          status = 200,
          contentType = 'application/octet-stream',
          body,
          delayMs = 0,
        } = this.answer;
        setTimeout(() => {
          if (res.destroyed) return;
          res.writeHead(status, { 'content-type': contentType });
          res.end(body ?? Buffer.from(`licence-${this.received.length}`));
        }, delayMs);
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
