import { readFile } from 'node:fs/promises';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** Serves the player page, Shaka Player's compiled build and the clip, on loopback. */
export interface PageServer {
  origin: string;
  pageUrl: string;
  manifestUrl: string;
  /** Paths asked for, in order. */
  served: string[];
  close(): Promise<void>;
}

const SHAKA = require.resolve('shaka-player');
const HARNESS = join(__dirname, 'harness-page.js');
const PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><title>usher ClearKey</title>' +
  '<link rel="icon" href="data:,"></head><body>' +
  '<script src="/shaka-player.compiled.js"></script><script src="/harness-page.js"></script>' +
  '</body></html>';
const CLIP_FILE = /^\/clip\/(manifest\.mpd|init\.mp4|seg-\d+\.m4s)$/;

function typeOf(path: string): string {
  if (path.endsWith('.mpd')) return 'application/dash+xml';
  if (path.endsWith('.js')) return 'text/javascript';
  return 'video/mp4';
}

export async function startPageServer(clipDir: string): Promise<PageServer> {
  const served: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    served.push(path);
    const clip = CLIP_FILE.exec(path);
    const file =
      path === '/shaka-player.compiled.js'
        ? SHAKA
        : path === '/harness-page.js'
          ? HARNESS
          : clip
            ? join(clipDir, clip[1])
            : undefined;
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
    } else if (!file) {
      res.writeHead(404).end();
    } else {
      readFile(file).then(
        (body) => res.writeHead(200, { 'Content-Type': typeOf(path) }).end(body),
        () => res.writeHead(404).end(),
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    pageUrl: `${origin}/`,
    manifestUrl: `${origin}/clip/manifest.mpd`,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
