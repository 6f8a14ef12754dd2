/**
 * The container image, built from the Dockerfile and run the way the Kubernetes manifests run it.
 * scripts/image-check.sh does the work (rootful podman, no image registry: see docs/deploy.md)
 * and prints one PASS or FAIL line per check; each check is one test here, so CI counts them.
 * It takes 2-3 minutes (the first run on a machine about 3 more, for the Debian base it caches).
 */
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SCRIPT_TIMEOUT_MS = 20 * 60_000;

const CHECKS = [
  'build',
  'no-dev-dependencies',
  'lua-scripts',
  'missing-config',
  'ready',
  'non-root-read-only',
  'heartbeat-allow',
  'heartbeat-deny',
  'metrics',
  'docs',
  'sigterm-drain',
  'no-writes',
];

// Rootful podman needs root; CI runs as root. Elsewhere the suite says so and skips the image.
const isRoot = process.getuid?.() === 0;
if (!isRoot) {
  console.warn('test/deploy/image.spec.ts skipped: scripts/image-check.sh needs root (podman)');
}

(isRoot ? describe : describe.skip)('the container image (scripts/image-check.sh)', () => {
  let run: SpawnSyncReturns<string>;
  let lines: string[] = [];
  const lineOf = (check: string): string =>
    lines.find((line) => new RegExp(`^(PASS|FAIL) ${check}\\b`).test(line)) ??
    `no line for ${check} (the script stopped before it)`;

  beforeAll(() => {
    run = spawnSync('bash', [join(ROOT, 'scripts/image-check.sh')], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: SCRIPT_TIMEOUT_MS,
      killSignal: 'SIGTERM',
    });
    const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    lines = output.split('\n');
    console.log(`scripts/image-check.sh (exit ${run.status ?? run.signal}):\n${output}`);
  }, SCRIPT_TIMEOUT_MS + 60_000);

  it.each(CHECKS)('%s', (check) => {
    expect(lineOf(check)).toMatch(new RegExp(`^PASS ${check}\\b`));
  });

  it('reports the image size and exits 0 with every check passed', () => {
    expect(lines).toContainEqual(expect.stringMatching(/^INFO image size: \d+ MB/));
    expect(lines.filter((line) => line.startsWith('FAIL'))).toEqual([]);
    expect(run.status).toBe(0);
  });
});
