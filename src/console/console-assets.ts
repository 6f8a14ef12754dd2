import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface ConsoleAsset {
  body: Buffer;
  gzip: Buffer;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Where `npm run build` puts the console (scripts/build-console.mjs): dist/console/web, next to
 * the compiled module. Run from sources (ts-jest, ts-node), the built copy in dist/ is used.
 */
export function consoleAssetsDir(): string {
  const beside = join(__dirname, 'web');
  return existsSync(beside) ? beside : resolve(__dirname, '../../dist/console/web');
}

/** Every built file by name, read and gzipped once at start-up (a few hundred KB at most). */
export function loadConsoleAssets(dir: string): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  if (!existsSync(dir)) return assets;
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (!contentType) continue;
    const body = readFileSync(join(dir, name));
    assets.set(name, {
      body,
      gzip: gzipSync(body, { level: 9 }),
      contentType,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
  }
  return assets;
}
