import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_SESSION_ID_SECRET } from '../../src/config/app-config';
import { ConfigError, loadConfig } from '../../src/config/load-config';
import { parsePlan, parsePlanCatalog } from '../../src/config/plan';

const dir = mkdtempSync(join(tmpdir(), 'usher-config-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
const plansFile = file('plans.yaml', 'defaultPlan: basic\nplans:\n  basic: {}\n');
const base = { USHER_PLANS_FILE: plansFile, REDIS_URL: 'redis://127.0.0.1:1' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      keyPrefix: 'usher',
      failMode: 'open',
      storeTimeoutMs: 150,
      maxEntriesPerUser: 64,
      maxSessionsPerDevice: 8,
      maxInFlight: 1000,
      production: false,
    });
    expect(config.plans.plans[0]).toEqual({
      name: 'basic',
      maxStreams: 1,
      countBy: 'session',
      onLimit: 'reject-new',
      renewalIntervalSeconds: 60,
      graceSeconds: 30,
    });
  });

  it('names every bad variable in one error', () => {
    const found = problems({
      ...base,
      PORT: 'eighty',
      USHER_FAIL_MODE: 'maybe',
      USHER_STORE_TIMEOUT_MS: '-5',
      REDIS_URL: 'http://x',
      USHER_KEY_PREFIX: 'has space',
      USHER_MAX_ENTRIES_PER_USER: '2',
      USHER_MAX_SESSIONS_PER_DEVICE: '0',
      USHER_MAX_IN_FLIGHT: 'lots',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^USHER_MAX_ENTRIES_PER_USER: must be an integer from 4/),
        expect.stringMatching(/^USHER_MAX_SESSIONS_PER_DEVICE:/),
        expect.stringMatching(/^USHER_MAX_IN_FLIGHT:/),
        expect.stringMatching(/^PORT:/),
        expect.stringMatching(/^USHER_FAIL_MODE:/),
        expect.stringMatching(/^USHER_STORE_TIMEOUT_MS:/),
        expect.stringMatching(/^REDIS_URL:/),
        expect.stringMatching(/^USHER_KEY_PREFIX:/),
      ]),
    );
    expect(() => loadConfig({ ...base, PORT: 'x', USHER_FAIL_MODE: 'y' })).toThrow(
      /PORT[\s\S]*USHER_FAIL_MODE/,
    );
  });

  it('refuses to start in production without tokens, secret or Redis', () => {
    const found = problems({ USHER_PLANS_FILE: plansFile, NODE_ENV: 'production' });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^USHER_SESSION_ID_SECRET: required/),
        expect.stringMatching(/^USHER_LICENSE_SERVER_TOKENS, USHER_ADMIN_TOKENS/),
        expect.stringMatching(/^REDIS_URL: required/),
      ]),
    );
  });

  it('runs open with warnings outside production', () => {
    const config = loadConfig({ USHER_PLANS_FILE: plansFile });
    expect(config.redis).toEqual({ mode: 'local' });
    expect(config.sessionIdSecret).toBe(DEV_SESSION_ID_SECRET);
    expect(config.warnings).toEqual([
      expect.stringMatching(/USHER_SESSION_ID_SECRET/),
      expect.stringMatching(/no API tokens/),
    ]);
  });

  it('reads comma-separated tokens and _FILE tokens (one per line) together', () => {
    const tokens = file('tokens', 'file-a\n\n# comment\nfile-b\n');
    const config = loadConfig({
      ...base,
      USHER_LICENSE_SERVER_TOKENS: 'env-a, env-b',
      USHER_LICENSE_SERVER_TOKENS_FILE: tokens,
      USHER_ADMIN_TOKENS_FILE: tokens,
    });
    expect(config.licenseServerTokens).toEqual(['env-a', 'env-b', 'file-a', 'file-b']);
    expect(config.adminTokens).toEqual(['file-a', 'file-b']);
    expect(problems({ ...base, USHER_ADMIN_TOKENS_FILE: join(dir, 'missing') })).toEqual([
      expect.stringMatching(/^USHER_ADMIN_TOKENS_FILE: cannot read/),
    ]);
  });

  it('parses cluster and sentinel targets', () => {
    expect(
      loadConfig({ USHER_PLANS_FILE: plansFile, REDIS_CLUSTER_NODES: 'a:1,b:2' }).redis,
    ).toMatchObject({
      mode: 'cluster',
      nodes: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
    });
    expect(problems({ USHER_PLANS_FILE: plansFile, REDIS_SENTINELS: 's:26379' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_MASTER/),
    ]);
    expect(problems({ ...base, REDIS_CLUSTER_NODES: 'a:1' })).toEqual([
      expect.stringMatching(/set only one/),
    ]);
  });

  it('stops on an invalid plans file, naming each bad plan field', () => {
    const bad = file(
      'bad.yaml',
      'defaultPlan: gold\nplans:\n  basic:\n    maxStreams: 101\n    countBy: household\n',
    );
    const found = problems({ ...base, USHER_PLANS_FILE: bad });
    expect(found).toEqual([
      expect.stringMatching(/plans\.basic\.maxStreams: must be an integer from 0 to 100/),
      expect.stringMatching(/plans\.basic\.countBy: must be one of session, device/),
      expect.stringMatching(/defaultPlan: "gold" is not one of the plans/),
    ]);
    expect(problems({ ...base, USHER_PLANS_FILE: join(dir, 'none.yaml') })).toEqual([
      expect.stringMatching(/^USHER_PLANS_FILE: cannot load/),
    ]);
  });

  it('loads the shipped config/plans.yaml', () => {
    const config = loadConfig({ ...base, USHER_PLANS_FILE: 'config/plans.yaml' });
    expect(config.plans.plans.map((p) => p.name)).toContain(config.plans.defaultPlan);
  });
});

describe('parsePlan', () => {
  it('checks ranges, enums, unknown fields and the name', () => {
    expect(
      parsePlan('bad name', {
        maxStreams: 1.5,
        renewalIntervalSeconds: 0,
        graceSeconds: 86401,
        onLimit: 'kick',
        colour: 'red',
      }).problems,
    ).toEqual([
      expect.stringMatching(/^name: plan name/),
      'colour: unknown field',
      'maxStreams: must be an integer from 0 to 100',
      'renewalIntervalSeconds: must be an integer from 1 to 86400',
      'graceSeconds: must be an integer from 0 to 86400',
      'onLimit: must be one of reject-new, evict-oldest',
    ]);
  });

  it('accepts the boundaries', () => {
    const { plan } = parsePlan('edge', {
      maxStreams: 0,
      renewalIntervalSeconds: 86400,
      graceSeconds: 0,
    });
    expect(plan).toMatchObject({ maxStreams: 0, renewalIntervalSeconds: 86400, graceSeconds: 0 });
  });

  it('requires at least one plan in a catalogue', () => {
    expect(parsePlanCatalog({ defaultPlan: 'x', plans: {} }, 'f').problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/plans: must map at least one plan/)]),
    );
  });
});
