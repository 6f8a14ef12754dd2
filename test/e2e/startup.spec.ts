import { spawnSync } from 'node:child_process';

/** Runs the real entry point (src/main.ts) with the given environment only. */
function start(env: Record<string, string>) {
  return spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('start-up with invalid configuration', () => {
  it('exits 1 with one message naming every bad variable', () => {
    const run = start({
      PORT: 'http',
      USHER_FAIL_MODE: 'sometimes',
      USHER_STORE_TIMEOUT_MS: '0',
      REDIS_URL: 'memcached://x',
      USHER_PLANS_FILE: 'config/plans.yaml',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^usher: Invalid configuration:/);
    for (const name of ['PORT', 'USHER_FAIL_MODE', 'USHER_STORE_TIMEOUT_MS', 'REDIS_URL']) {
      expect(run.stderr).toContain(`- ${name}:`);
    }
    expect(run.stdout).toBe('');
  });

  it('refuses production without Redis, session-id secret and tokens', () => {
    const run = start({ NODE_ENV: 'production', USHER_PLANS_FILE: 'config/plans.yaml' });
    expect(run.status).toBe(1);
    for (const name of ['REDIS_URL', 'USHER_SESSION_ID_SECRET', 'USHER_LICENSE_SERVER_TOKENS']) {
      expect(run.stderr).toContain(`- ${name}`);
    }
  });
});
