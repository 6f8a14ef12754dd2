import Fastify from 'fastify';
import { HeartbeatResponse, HeartbeatResponseSchema } from '../../src/heartbeat/heartbeat.schema';
import { licensePolicy } from '../../src/heartbeat/license-policy';

const session = (sessionId: string, deviceId: string | null, contentId: string | null) => ({
  sessionId,
  deviceId,
  drm: 'playready' as const,
  contentId,
  startedAt: '2030-01-02T18:00:00.000Z',
  lastSeenAt: '2030-01-02T18:01:00.000Z',
});

/** Every field the service can answer, optional ones included. */
const answer: HeartbeatResponse = {
  decision: 'allow',
  reason: 'admitted',
  sessionId: 'syn-3q2x7wQnZ0bT4mKp1aL9cA',
  plan: 'family',
  countBy: 'device',
  activeStreams: 2,
  maxStreams: 4,
  renewAfterSeconds: 60,
  expiresInSeconds: 90,
  evicted: [session('a', 'tv', 'movie-1')],
  conflicts: [session('b', null, null)],
  license: Object.freeze(
    licensePolicy('persistent', { renewalIntervalSeconds: 60, graceSeconds: 30 }),
  ),
  shadow: { decision: 'deny', reason: 'limit_exceeded', evicted: [session('c', 'pc', null)] },
  devices: [
    {
      deviceId: 'tv',
      firstSeenAt: '2030-01-01T00:00:00.000Z',
      lastSeenAt: '2030-01-02T00:00:00.000Z',
    },
  ],
};

describe('the heartbeat answer serializer (fast-json-stringify from HeartbeatResponseSchema)', () => {
  const app = Fastify();
  let reply: unknown = answer;
  app.get('/', { schema: { response: { 200: HeartbeatResponseSchema } } }, async () => reply);
  afterAll(() => app.close());

  it('writes every field of a full answer, nulls and frozen policies included', async () => {
    reply = answer;
    const res = await app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(answer);
  });

  it('leaves the optional fields out when they are absent', async () => {
    const deny: HeartbeatResponse = { ...answer, decision: 'deny', reason: 'limit_exceeded' };
    delete deny.license;
    delete deny.shadow;
    delete deny.devices;
    reply = deny;
    const res = await app.inject('/');
    expect(res.json()).toEqual(reply);
    expect(res.json()).not.toHaveProperty('license');
  });
});
