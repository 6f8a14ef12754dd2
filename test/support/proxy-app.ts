import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { AppConfig } from '../../src/config/app-config';
import { FakeLicenceServer } from './fake-licence-server';
import { PLAYER_JWT_SECRET } from './player-token';
import { startRedis, TestRedis } from './redis-server';
import { startApp, testConfig } from './test-app';

/** The real app with the licence proxy in front of a fake licence server, on a private Redis. */
export interface ProxyHarness {
  redis: TestRedis;
  upstream: FakeLicenceServer;
  app: NestFastifyApplication;
  config: AppConfig;
  /** POSTs raw bytes (no Content-Type unless given) and reads the answer as bytes. */
  post(
    drm: string,
    token: string | undefined,
    body: Buffer | string,
    headers?: Record<string, string>,
  ): Promise<request.Response>;
  /** Keys usher stored about one user. */
  storedKeys(userId: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * `upstreams` maps each DRM to serve to a path on the fake server (or a full URL);
 * `env` adds USHER_* variables, `overrides` replaces parsed config fields (plans, fail mode).
 */
export async function startProxyHarness(
  upstreams: Record<string, string>,
  env: Record<string, string> = {},
  overrides: Partial<AppConfig> = {},
): Promise<ProxyHarness> {
  const redis = await startRedis();
  const upstream = new FakeLicenceServer();
  const base = await upstream.start();
  const upstreamEnv: Record<string, string> = {};
  for (const [drm, target] of Object.entries(upstreams)) {
    upstreamEnv[`USHER_PROXY_UPSTREAM_${drm.toUpperCase()}`] = target.startsWith('http')
      ? target
      : `${base}${target}`;
  }
  const config = testConfig(redis.url, overrides, {
    USHER_PROXY_JWT_SECRET: PLAYER_JWT_SECRET,
    ...upstreamEnv,
    ...env,
  });
  const app = await startApp(config);
  return {
    redis,
    upstream,
    app,
    config,
    post: (drm, token, body, headers = {}) => {
      const req = request(app.getHttpServer()).post(`/v1/licenses/${drm}`);
      if (token !== undefined) req.set('authorization', `Bearer ${token}`);
      return req
        .set(headers)
        .buffer(true)
        .parse((res, cb) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => cb(null, Buffer.concat(chunks)));
        })
        .send(body);
    },
    storedKeys: (userId) => redis.client.keys(`${config.keyPrefix}:{${userId}}*`),
    stop: async () => {
      await app.close();
      await upstream.stop();
      await redis.stop();
    },
  };
}

/** The JSON of an answer read as bytes. */
export function json(res: request.Response): Record<string, unknown> {
  return JSON.parse((res.body as Buffer).toString('utf8')) as Record<string, unknown>;
}
