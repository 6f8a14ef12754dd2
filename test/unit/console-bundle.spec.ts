import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildConsole } from '../support/console-build';

/** What a browser transfers for the console: every built file, gzipped. */
const BUDGET_BYTES = 200 * 1024;

describe('console build', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'usher-console-'));
    buildConsole(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`stays within ${BUDGET_BYTES / 1024} KB gzip in total`, () => {
    const sizes = readdirSync(dir).map((name) => ({
      name,
      gzip: gzipSync(readFileSync(join(dir, name)), { level: 9 }).length,
    }));
    const total = sizes.reduce((sum, s) => sum + s.gzip, 0);
    expect(sizes.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'index.html',
        expect.stringMatching(/\.js$/),
        expect.stringMatching(/\.css$/),
      ]),
    );
    expect(total).toBeLessThanOrEqual(BUDGET_BYTES);
  });

  it('loads nothing from elsewhere: the page names only its own files', () => {
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) expect(ref).toMatch(/^\/console\/[\w.-]+$/);
    for (const ref of refs) expect(readdirSync(dir)).toContain(ref.slice('/console/'.length));
  });
});
