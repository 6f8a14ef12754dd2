import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load-config';
import { tlsOptions, withDeadline } from '../../src/redis/redis-connection';

const dir = mkdtempSync(join(tmpdir(), 'usher-redis-config-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const plansFile = file('plans.yaml', 'defaultPlan: basic\nplans:\n  basic: {}\n');

const redis = (env: Record<string, string>) =>
  loadConfig({ USHER_PLANS_FILE: plansFile, ...env }).redis;
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ USHER_PLANS_FILE: plansFile, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('Redis auth and TLS configuration', () => {
  it('a rediss:// REDIS_URL turns TLS on; REDIS_TLS=true does for any mode', () => {
    expect(redis({ REDIS_URL: 'rediss://h:6380' })).toMatchObject({ mode: 'single', tls: true });
    expect(redis({ REDIS_URL: 'redis://h:6379' })).toMatchObject({ mode: 'single', tls: false });
    expect(redis({ REDIS_URL: 'redis://h:6379', REDIS_TLS: 'true' })).toMatchObject({ tls: true });
    expect(redis({ REDIS_CLUSTER_NODES: 'a:1', REDIS_TLS: 'true' })).toMatchObject({
      mode: 'cluster',
      tls: true,
    });
    expect(
      redis({ REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_TLS: 'false' }),
    ).toMatchObject({ mode: 'sentinel', tls: false });
  });

  it('REDIS_USERNAME and REDIS_PASSWORD(_FILE) apply to every mode, REDIS_URL included', () => {
    const passwordFile = file('password', 'from-file\n');
    expect(
      redis({ REDIS_URL: 'redis://h:6379', REDIS_USERNAME: 'usher', REDIS_PASSWORD: 'pw' }),
    ).toMatchObject({ username: 'usher', password: 'pw' });
    expect(redis({ REDIS_CLUSTER_NODES: 'a:1', REDIS_PASSWORD_FILE: passwordFile })).toMatchObject({
      password: 'from-file',
    });
  });

  it('REDIS_TLS_CA_FILE is read once at start-up and needs TLS on', () => {
    const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\n...\n');
    expect(redis({ REDIS_URL: 'rediss://h', REDIS_TLS_CA_FILE: ca })).toMatchObject({
      tlsCa: '-----BEGIN CERTIFICATE-----\n...\n',
    });
    expect(problems({ REDIS_URL: 'redis://h', REDIS_TLS_CA_FILE: ca })).toEqual([
      expect.stringMatching(/^REDIS_TLS_CA_FILE: TLS is off/),
    ]);
    expect(problems({ REDIS_URL: 'rediss://h', REDIS_TLS_CA_FILE: join(dir, 'missing') })).toEqual([
      expect.stringMatching(/^REDIS_TLS_CA_FILE: cannot read/),
    ]);
  });

  it('names a REDIS_TLS that is neither true nor false', () => {
    expect(problems({ REDIS_URL: 'redis://h', REDIS_TLS: 'yes' })).toEqual([
      expect.stringMatching(/^REDIS_TLS: must be one of true, false/),
    ]);
  });

  it('turns the target into TLS options: the CA when given, else the system CAs', () => {
    expect(tlsOptions({ mode: 'single', url: 'redis://h', tls: false })).toBeUndefined();
    expect(tlsOptions({ mode: 'cluster', nodes: [], tls: true })).toEqual({});
    expect(tlsOptions({ mode: 'cluster', nodes: [], tls: true, tlsCa: 'PEM' })).toEqual({
      ca: 'PEM',
    });
  });
});

describe('withDeadline', () => {
  it('rejects with a timeout error when the work does not settle in time', async () => {
    const never = new Promise<string>(() => undefined);
    await expect(withDeadline(never, 20)).rejects.toThrow(/timed out/);
  });

  it('passes the answer or the error of work that settles in time', async () => {
    await expect(withDeadline(Promise.resolve('PONG'), 1000)).resolves.toBe('PONG');
    await expect(withDeadline(Promise.reject(new Error('READONLY')), 1000)).rejects.toThrow(
      'READONLY',
    );
  });
});
