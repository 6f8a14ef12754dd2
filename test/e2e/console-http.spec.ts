import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { DecisionRecorder } from '../../src/stats/decision-recorder';
import { ensureConsoleBuilt } from '../support/console-build';
import { startRedis, TestRedis } from '../support/redis-server';
import {
  ADMIN_TOKEN,
  catalog,
  LICENSE_TOKEN,
  plan,
  startApp,
  testConfig,
} from '../support/test-app';
import { heartbeat } from './admin-support';

const PLANS = catalog(plan('basic', { maxStreams: 1 }), plan('family', { maxStreams: 4 }));
const SECURITY = {
  'content-security-policy': "default-src 'self'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

interface PlanStats {
  plan: string;
  maxStreams: number;
  decisions: Record<string, number>;
  denyRatio: number | null;
  series: { perSecond: Record<string, number[]>; maxStreams: (number | null)[] };
}

describe('console over HTTP', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    ensureConsoleBuilt();
    redis = await startRedis();
    app = await startApp(testConfig(redis.url, { plans: PLANS }));
  });
  afterAll(async () => {
    await app.close();
    await redis.stop();
  });

  describe('GET /console', () => {
    it('serves the page with the security headers and no inline script or style', async () => {
      const res = await http().get('/console').expect(200);
      expect(res.headers).toMatchObject(SECURITY);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(res.text).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
      expect(res.text).not.toMatch(/https?:\/\//);
    });

    it('serves its bundles with the same headers, gzipped when asked', async () => {
      const page = (await http().get('/console')).text;
      const assets = [...page.matchAll(/(?:src|href)="(\/console\/[^"]+)"/g)].map((m) => m[1]);
      expect(assets.length).toBeGreaterThanOrEqual(3);
      for (const path of assets) {
        const res = await http().get(path).set('accept-encoding', 'gzip').expect(200);
        expect(res.headers).toMatchObject(SECURITY);
        expect(res.headers['content-encoding']).toBe('gzip');
      }
      const js = assets.find((a) => a.endsWith('.js')) as string;
      const plain = await http().get(js).set('accept-encoding', 'identity').expect(200);
      expect(plain.headers['content-type']).toMatch(/^text\/javascript/);
      expect(plain.headers['cache-control']).toContain('immutable');
    });

    it('answers unknown files 404 with the headers, and /console/ redirects to /console', async () => {
      const missing = await http().get('/console/nothing.js').expect(404);
      expect(missing.headers).toMatchObject(SECURITY);
      const slash = await http().get('/console/').expect(308);
      expect(slash.headers.location).toBe('/console');
      expect(slash.headers).toMatchObject(SECURITY);
    });

    it('needs no token to load the page (the page holds none)', async () => {
      await http().get('/console').set('authorization', 'Bearer nonsense').expect(200);
    });
  });

  it('USHER_CONSOLE=false serves no console; the admin API is unchanged', async () => {
    const off = await startApp(testConfig(redis.url, { plans: PLANS }, { USHER_CONSOLE: 'false' }));
    try {
      await request(off.getHttpServer()).get('/console').expect(404);
      await request(off.getHttpServer())
        .get('/v1/stats')
        .set('authorization', `Bearer ${ADMIN_TOKEN}`)
        .expect(200);
    } finally {
      await off.close();
    }
  });

  describe('GET /v1/stats', () => {
    it('is admin-only: 401 without a known token, 403 with a license-server token', async () => {
      await http().get('/v1/stats').expect(401);
      await http().get('/v1/stats').set('authorization', 'Bearer wrong').expect(401);
      await http().get('/v1/stats').set('authorization', `Bearer ${LICENSE_TOKEN}`).expect(403);
    });

    it('counts decisions per plan and reason over the window, with the deny ratio', async () => {
      for (const sessionId of ['a', 'b', 'c']) {
        await heartbeat(app, { userId: 'stats-user', sessionId, plan: 'basic' }).expect(200);
      }
      await app.get(DecisionRecorder).flush();
      const res = await http()
        .get('/v1/stats')
        .set('authorization', `Bearer ${ADMIN_TOKEN}`)
        .expect(200);
      expect(res.body).toMatchObject({ windowSeconds: 900, bucketSeconds: 10, degraded: 0 });
      expect(res.body.timestamps).toHaveLength(90);
      const plans = res.body.plans as PlanStats[];
      expect(plans.map((p) => p.plan).sort()).toEqual(['basic', 'family']);
      const basic = plans.find((p) => p.plan === 'basic') as PlanStats;
      expect(basic.decisions).toEqual({ admitted: 1, limit_exceeded: 2 });
      expect(basic.denyRatio).toBeCloseTo(2 / 3);
      expect(basic.series.perSecond.admitted).toHaveLength(90);
      expect(basic.series.perSecond.admitted.at(-1)).toBeGreaterThan(0);
      expect(basic.series.maxStreams.at(-1)).toBe(1);
      const family = plans.find((p) => p.plan === 'family') as PlanStats;
      expect(family.decisions).toEqual({});
      expect(family.denyRatio).toBeNull();

      // Each flush adds only what grew since the last one.
      await app.get(DecisionRecorder).flush();
      const again = await http()
        .get('/v1/stats')
        .set('authorization', `Bearer ${ADMIN_TOKEN}`)
        .expect(200);
      const basicAgain = (again.body.plans as PlanStats[]).find((p) => p.plan === 'basic');
      expect(basicAgain?.decisions).toEqual({ admitted: 1, limit_exceeded: 2 });
    });

    it('is described in the OpenAPI document', async () => {
      const doc = (await http().get('/docs-json').expect(200)).body as {
        paths: Record<string, { get?: { responses: Record<string, unknown> } }>;
      };
      expect(Object.keys(doc.paths['/v1/stats']?.get?.responses ?? {})).toEqual(
        expect.arrayContaining(['200', '401', '403']),
      );
    });
  });
});
