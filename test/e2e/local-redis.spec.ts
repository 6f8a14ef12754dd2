import { spawnSync } from 'node:child_process';

/**
 * README: with REDIS_URL unset outside production, usher uses the Redis on 127.0.0.1:6379 if one
 * answers, else starts a private redis-server from PATH, else exits saying how to get one. Each
 * case runs in a fresh network namespace (unshare -n, as root), where nothing answers on 6379 and
 * the machine's Redis is never touched.
 */
function inEmptyNetwork(script: string) {
  return spawnSync('unshare', ['-n', 'sh', '-c', `ip link set lo up; ${script}`], {
    env: {
      PATH: process.env.PATH ?? '',
      USHER_LOG_LEVEL: 'warn',
      PORT: '18080',
      HOST: '127.0.0.1',
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const START = `${process.execPath} -r ts-node/register/transpile-only src/main.ts`;

describe('development Redis (REDIS_URL unset)', () => {
  it('starts a private redis-server when none answers on 6379, and stops it with usher', () => {
    const run = inEmptyNetwork(`
      ${START} > /tmp/usher-local-redis.log 2>&1 &
      pid=$!
      for i in $(seq 1 100); do curl -sf http://127.0.0.1:18080/health/ready > /dev/null && break; sleep 0.2; done
      curl -s http://127.0.0.1:18080/v1/heartbeats -H 'content-type: application/json' \\
        -d '{"userId":"u","drm":"widevine","messageType":"license-request","sessionId":"s"}'
      echo
      port=$(grep -o 'redis://127.0.0.1:[0-9]*' /tmp/usher-local-redis.log | head -1 | cut -d: -f3)
      echo "private-port=$port"
      kill -TERM $pid; wait $pid
      echo "usher-exit=$?"
      redis-cli -p "$port" ping 2>&1 | head -1
    `);
    expect(run.stdout).toContain('"reason":"admitted"');
    expect(run.stdout).toMatch(/private-port=\d+/);
    expect(run.stdout).toContain('usher-exit=0');
    expect(run.stdout).not.toMatch(/PONG/);
  });

  it('exits with a message saying how to get Redis when there is none', () => {
    // no redis-server on PATH (node itself is started by its absolute path)
    const run = inEmptyNetwork(`PATH=/nonexistent ${START}`);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/No Redis: .*apt-get install redis-server.*or set REDIS_URL/);
  });
});
