// Builds the admin console (console/) into static files that usher serves at /console:
// one JS and one CSS bundle (content-hashed names), index.html pointing at them, and the icon.
//   node scripts/build-console.mjs [--outdir DIR]     (default: dist/console/web)
// `npm run build` runs it after `nest build`, which empties dist/ first.
import { copyFileSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const at = args.indexOf('--outdir');
const outdir = resolve(at >= 0 ? args[at + 1] : join(root, 'dist/console/web'));

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const result = await build({
  entryPoints: { app: join(root, 'console/src/main.tsx') },
  outdir,
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: join(root, 'console/tsconfig.json'),
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`console build: expected one .js and one .css, got ${outputs}`);

const html = readFileSync(join(root, 'console/index.html'), 'utf8')
  .replace('{{js}}', js)
  .replace('{{css}}', css);
writeFileSync(join(outdir, 'index.html'), html);
copyFileSync(join(root, 'console/favicon.svg'), join(outdir, 'favicon.svg'));
process.stdout.write(`console built into ${outdir}: index.html, ${js}, ${css}\n`);
