import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
export const BUILT_CONSOLE = join(ROOT, 'dist/console/web');

/** Runs the console build (scripts/build-console.mjs) into `outdir`. */
export function buildConsole(outdir: string = BUILT_CONSOLE): void {
  execFileSync('node', [join(ROOT, 'scripts/build-console.mjs'), '--outdir', outdir], {
    stdio: 'ignore',
  });
}

/**
 * The app serves the console from dist/console/web (what npm run build makes; CI builds first).
 * A test run without a build builds the console alone, once.
 */
export function ensureConsoleBuilt(): void {
  if (!existsSync(join(BUILT_CONSOLE, 'index.html'))) buildConsole();
}
