import request from 'supertest';
import { AppConfig } from '../../src/config/app-config';
import { APP_CONFIG } from '../../src/config/config.module';
import { Plan } from '../../src/config/plan';
import { MetricsService } from '../../src/metrics/metrics.service';
import { PlanRegistry } from '../../src/plans/plan-registry';
import { RedisConnections } from '../../src/redis/redis-connections';
import { userKeys } from '../../src/redis/user-keys';
import { HeartbeatInput, SessionStore, StoreDecision } from '../../src/sessions/session-store';
import { sessionStoreOptions } from '../../src/sessions/sessions.module';
import { adminCall, heartbeat } from '../e2e/admin-support';
import { useStoreSuite } from '../support/store-suite';
import { STORE_TARGETS } from '../support/store-targets';
import { LICENSE_TOKEN, plan } from '../support/test-app';

/** The rollout and fairness controls (docs/admin-api.md, "Rollout and fairness controls"). */
const PLANS: Plan[] = [
  plan('basic', { maxStreams: 2 }),
  plan('shadow-one', { maxStreams: 1, enforcement: 'shadow' }),
  plan('grace', { maxStreams: 1, onLimit: 'evict-oldest', evictionGraceSeconds: 2 }),
  plan('handoff', { maxStreams: 1, handoff: true }),
  plan('handoff-pair', { maxStreams: 2, handoff: true }),
  plan('handoff-grace', { maxStreams: 1, handoff: true, evictionGraceSeconds: 2 }),
  plan('per-content', { maxStreams: 3, maxStreamsPerContent: 1 }),
  plan('per-content-evict', {
    maxStreams: 3,
    maxStreamsPerContent: 1,
    onLimit: 'evict-oldest',
    evictionGraceSeconds: 2,
  }),
  plan('devices', { maxStreams: 5, maxDevices: 2 }),
  plan('shadow-devices', { maxStreams: 5, maxDevices: 2, enforcement: 'shadow' }),
  plan('takeover-grace', { maxStreams: 1, onLimit: 'evict-oldest', evictionGraceSeconds: 600 }),
  plan('shadow-evict', { maxStreams: 1, onLimit: 'evict-oldest', enforcement: 'shadow' }),
  plan('devices-hour', { maxStreams: 5, maxDevices: 1, deviceWindowHours: 1 }),
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(STORE_TARGETS)('rollout and fairness controls on $name', (target) => {
  const ctx = useStoreSuite(target, PLANS);
  let n = 0;
  const newUser = () => `user-${++n}-${Math.random().toString(36).slice(2, 8)}`;

  const beat = (userId: string, sessionId: string, extra: Partial<HeartbeatInput> = {}) =>
    ctx.store.heartbeat({ userId, sessionId, drm: 'widevine', release: false, ...extra });
  const ids = (d: StoreDecision) => d.sessions.map((s) => s.sessionId).sort();
  const live = async (userId: string) =>
    (await ctx.store.userSessions(userId)).sessions.map((s) => s.sessionId).sort();
  const metric = async (line: string): Promise<number> => {
    const text = (await request(ctx.app.getHttpServer()).get('/metrics')).text;
    const found = text.split('\n').find((l) => l.startsWith(line + ' '));
    return found ? Number(found.split(' ').pop()) : 0;
  };

  describe('shadow', () => {
    it('allows over the limit, says what enforce would do, counts it and stores the session', async () => {
      const u = newUser();
      const first = await heartbeat(ctx.app, { userId: u, sessionId: 'a', plan: 'shadow-one' });
      expect(first.body).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
        shadow: { decision: 'allow', reason: 'admitted', evicted: [] },
      });
      const counted = 'usher_shadow_denials_total{plan="shadow-one",reason="limit_exceeded"}';
      const before = await metric(counted);
      const second = await heartbeat(ctx.app, { userId: u, sessionId: 'b', plan: 'shadow-one' });
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
        activeStreams: 2,
        maxStreams: 1,
        evicted: [],
        conflicts: [],
        shadow: { decision: 'deny', reason: 'limit_exceeded', evicted: [] },
      });
      expect(await metric(counted)).toBe(before + 1);
      expect(await live(u)).toEqual(['a', 'b']);
      // both renew; the second is outside the limit, which shadow reports and does not enforce
      expect(await beat(u, 'a', { plan: 'shadow-one' })).toMatchObject({
        decision: 'allow',
        reason: 'renewed',
      });
      const renewed = await beat(u, 'b', { plan: 'shadow-one' });
      expect(renewed).toMatchObject({
        decision: 'allow',
        reason: 'renewed',
        shadow: { decision: 'deny', reason: 'limit_exceeded' },
      });
      expect(await live(u)).toEqual(['a', 'b']);
    });
  });

  describe('shadow renewals', () => {
    it('a renewal within the limit carries shadow too (no fast renewal for a shadow plan)', async () => {
      const u = newUser();
      await beat(u, 'a', { plan: 'shadow-one' });
      expect(await beat(u, 'a', { plan: 'shadow-one' })).toMatchObject({
        decision: 'allow',
        reason: 'renewed',
        shadow: { decision: 'allow', reason: 'renewed', evicted: [] },
      });
    });
  });

  describe('shadow with the other controls', () => {
    it('a takeover and an eviction are reported, not done', async () => {
      const u = newUser();
      await beat(u, 'a', { plan: 'shadow-evict' });
      const evicting = await beat(u, 'b', { plan: 'shadow-evict' });
      expect(evicting).toMatchObject({ decision: 'allow', reason: 'admitted', activeStreams: 2 });
      expect(evicting.removed).toBeUndefined();
      expect(evicting.shadow).toMatchObject({ decision: 'allow', reason: 'admitted' });
      expect(evicting.shadow?.evicted.map((s) => s.sessionId)).toEqual(['a']);
      const takeover = await beat(u, 'c', { plan: 'shadow-evict', takeoverSessionId: 'b' });
      expect(takeover.takenOver).toBeUndefined();
      expect(takeover.shadow?.evicted.map((s) => s.sessionId)).toEqual(['b', 'a']);
      expect(await live(u)).toEqual(['a', 'b', 'c']);
      expect(await beat(u, 'a', { plan: 'shadow-evict' })).toMatchObject({ decision: 'allow' });
    });

    it('the per-user bound still holds in shadow (a safety limit, not policy)', async () => {
      // The suite's own store class on the suite's connections, with a bound of 4: a second app
      // would add nothing but its own queue connections to open and close mid-suite.
      const app = ctx.app;
      const bounded = new SessionStore(
        app.get(RedisConnections),
        sessionStoreOptions({ ...app.get<AppConfig>(APP_CONFIG), maxEntriesPerUser: 4 }),
        app.get(PlanRegistry),
        app.get(MetricsService),
      );
      const u = newUser();
      const answers: StoreDecision[] = [];
      for (let i = 0; i < 5; i++) {
        answers.push(
          await bounded.heartbeat({
            userId: u,
            sessionId: `s${i}`,
            drm: 'widevine',
            release: false,
            plan: 'shadow-one',
          }),
        );
      }
      expect(answers.slice(0, 4).map((d) => d.decision)).toEqual([
        'allow',
        'allow',
        'allow',
        'allow',
      ]);
      expect(answers[4]).toMatchObject({
        decision: 'deny',
        reason: 'limit_exceeded',
        shadow: { decision: 'deny', reason: 'limit_exceeded' },
      });
      expect((await bounded.userSessions(u)).sessions).toHaveLength(4);
    });
  });

  describe('eviction grace', () => {
    it('keeps a young slot (newcomer denied) and evicts it once the grace is over', async () => {
      const u = newUser();
      await beat(u, 'first', { plan: 'grace' });
      const young = await beat(u, 'second', { plan: 'grace' });
      expect(young).toMatchObject({ decision: 'deny', reason: 'limit_exceeded' });
      expect(ids(young)).toEqual(['first']);
      expect(await live(u)).toEqual(['first']);
      await sleep(2100);
      await beat(u, 'first', { plan: 'grace' });
      const old = await beat(u, 'second', { plan: 'grace' });
      expect(old).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
        removed: { cause: 'evict_oldest', slots: 1 },
      });
      expect(ids(old)).toEqual(['first']);
      expect(await beat(u, 'first', { plan: 'grace' })).toMatchObject({
        reason: 'session_revoked',
      });
    });
  });

  describe('handoff', () => {
    it('moves the same content to another device; other content is denied; the phone is revoked', async () => {
      const u = newUser();
      const on = (device: string, content: string) => ({
        plan: 'handoff',
        deviceId: device,
        contentId: content,
      });
      await beat(u, 'phone', on('phone-1', 'movie'));
      const other = await beat(u, 'tv-other', on('tv-1', 'series'));
      expect(other).toMatchObject({ decision: 'deny', reason: 'limit_exceeded' });
      expect(ids(other)).toEqual(['phone']);
      const tv = await beat(u, 'tv', on('tv-1', 'movie'));
      expect(tv).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
        activeStreams: 1,
        removed: { cause: 'handoff', slots: 1 },
      });
      expect(ids(tv)).toEqual(['phone']);
      expect(await beat(u, 'phone', on('phone-1', 'movie'))).toMatchObject({
        decision: 'deny',
        reason: 'session_revoked',
      });
      expect(await live(u)).toEqual(['tv']);
    });

    it('answers handoff evictions over HTTP and counts them by cause', async () => {
      const u = newUser();
      const counted = 'usher_evictions_total{plan="handoff",cause="handoff"}';
      const before = await metric(counted);
      await heartbeat(ctx.app, {
        userId: u,
        sessionId: 'p',
        deviceId: 'phone',
        contentId: 'm',
        plan: 'handoff',
      });
      const res = await heartbeat(ctx.app, {
        userId: u,
        sessionId: 't',
        deviceId: 'tv',
        contentId: 'm',
        plan: 'handoff',
      });
      expect(res.body).toMatchObject({ decision: 'allow', reason: 'admitted' });
      expect(res.body.evicted).toEqual([
        expect.objectContaining({ sessionId: 'p', deviceId: 'phone', contentId: 'm' }),
      ]);
      expect(await metric(counted)).toBe(before + 1);
    });
  });

  describe('per-content limit', () => {
    it('denies a second slot on the same content with conflicts; other content is admitted', async () => {
      const u = newUser();
      await beat(u, 'a', { plan: 'per-content', contentId: 'final' });
      const second = await beat(u, 'b', { plan: 'per-content', contentId: 'final' });
      expect(second).toMatchObject({
        decision: 'deny',
        reason: 'content_limit_exceeded',
        activeStreams: 1,
      });
      expect(ids(second)).toEqual(['a']);
      expect(await beat(u, 'c', { plan: 'per-content', contentId: 'movie' })).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
        activeStreams: 2,
      });
      // no contentId: the per-content limit does not apply
      expect(await beat(u, 'd', { plan: 'per-content' })).toMatchObject({ reason: 'admitted' });
      expect(await live(u)).toEqual(['a', 'c', 'd']);
    });

    it('under evict-oldest evicts the oldest slot on that content, once past the eviction grace', async () => {
      const u = newUser();
      const on = { plan: 'per-content-evict', contentId: 'final' };
      await beat(u, 'a', on);
      await beat(u, 'other', { plan: 'per-content-evict', contentId: 'movie' });
      // within the grace: the slot on that content is kept and the newcomer denied
      const young = await beat(u, 'b', on);
      expect(young).toMatchObject({ decision: 'deny', reason: 'content_limit_exceeded' });
      expect(ids(young)).toEqual(['a']);
      await sleep(2100);
      const old = await beat(u, 'b', on);
      expect(old).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
        activeStreams: 2,
        removed: { cause: 'evict_oldest', slots: 1 },
      });
      expect(ids(old)).toEqual(['a']);
      expect(await live(u)).toEqual(['b', 'other']);
    });
  });

  describe('device cap', () => {
    it('denies a third device with the registered devices; admin DELETE frees one', async () => {
      const u = newUser();
      // the user's plan through an override, so the admin look-up shows its cap
      const put = await adminCall(ctx.app, 'put', `/v1/users/${u}/override`, { plan: 'devices' });
      expect(put.status).toBeLessThan(300);
      for (const device of ['d1', 'd2']) {
        const res = await heartbeat(ctx.app, {
          userId: u,
          sessionId: `s-${device}`,
          deviceId: device,
        });
        expect(res.body).toMatchObject({ decision: 'allow', reason: 'admitted' });
      }
      // a registered device may start more sessions
      expect(
        (
          await heartbeat(ctx.app, {
            userId: u,
            sessionId: 's-d1b',
            deviceId: 'd1',
            plan: 'devices',
          })
        ).body,
      ).toMatchObject({ decision: 'allow', reason: 'admitted' });
      const third = await heartbeat(ctx.app, {
        userId: u,
        sessionId: 's-d3',
        deviceId: 'd3',
        plan: 'devices',
      });
      expect(third.body).toMatchObject({
        decision: 'deny',
        reason: 'device_limit_exceeded',
        conflicts: [],
        evicted: [],
      });
      expect(third.body.devices.map((d: { deviceId: string }) => d.deviceId).sort()).toEqual([
        'd1',
        'd2',
      ]);
      expect(third.body.devices[0]).toEqual({
        deviceId: expect.any(String),
        firstSeenAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        lastSeenAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });

      const listed = await adminCall(ctx.app, 'get', `/v1/users/${u}/devices`);
      expect(listed.status).toBe(200);
      expect(listed.body).toMatchObject({ userId: u, maxDevices: 2, deviceWindowHours: 720 });
      expect(listed.body.devices.map((d: { deviceId: string }) => d.deviceId).sort()).toEqual([
        'd1',
        'd2',
      ]);
      expect((await adminCall(ctx.app, 'delete', `/v1/users/${u}/devices/d2`)).status).toBe(204);
      expect((await adminCall(ctx.app, 'delete', `/v1/users/${u}/devices/none`)).status).toBe(204);
      const after = await adminCall(ctx.app, 'get', `/v1/users/${u}/devices`);
      expect(after.body.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['d1']);

      const retried = await heartbeat(ctx.app, {
        userId: u,
        sessionId: 's-d3',
        deviceId: 'd3',
        plan: 'devices',
      });
      expect(retried.body).toMatchObject({ decision: 'allow', reason: 'admitted' });
      expect(retried.body.devices).toBeUndefined();
    });

    it('registrations lapse after deviceWindowHours and the keys expire with the window', async () => {
      const u = newUser();
      const keys = userKeys(ctx.prefix, u);
      await beat(u, 'a', { plan: 'devices-hour', deviceId: 'old' });
      expect(await ctx.redis.pttl(keys.devices)).toBeGreaterThan(3_500_000);
      expect(await ctx.redis.pttl(keys.devices)).toBeLessThanOrEqual(3_600_000);
      expect(await ctx.redis.pttl(keys.deviceFirstSeen)).toBeLessThanOrEqual(3_600_000);
      expect(await beat(u, 'b', { plan: 'devices-hour', deviceId: 'new' })).toMatchObject({
        reason: 'device_limit_exceeded',
      });
      // last seen more than the window ago: no longer registered, its place is free
      const [seconds] = await ctx.redis.time();
      await ctx.redis.zadd(keys.devices, Number(seconds) * 1000 - 3_601_000, 'old');
      expect(await beat(u, 'b', { plan: 'devices-hour', deviceId: 'new' })).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
      });
      expect((await ctx.store.userDevices(u)).devices.map((d) => d.deviceId)).toEqual(['new']);
      expect(await ctx.redis.hkeys(keys.deviceFirstSeen)).toEqual(['new']);
    });

    it('admin devices: 400 for a bad deviceId, 403 for a license-server token', async () => {
      const bad = await adminCall(ctx.app, 'delete', `/v1/users/u/devices/${'x'.repeat(257)}`);
      expect(bad.status).toBe(400);
      expect(bad.body.problems).toEqual(['deviceId: must be 1-256 characters']);
      expect(
        (await adminCall(ctx.app, 'get', '/v1/users/u/devices', undefined, LICENSE_TOKEN)).status,
      ).toBe(403);
      const none = await adminCall(ctx.app, 'get', `/v1/users/${newUser()}/devices`);
      expect(none.body).toEqual({
        userId: expect.any(String),
        maxDevices: null,
        deviceWindowHours: 720,
        devices: [],
      });
    });

    it('400 without deviceId, naming maxDevices; nothing is stored', async () => {
      const u = newUser();
      const res = await heartbeat(ctx.app, { userId: u, sessionId: 's', plan: 'devices' });
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual([
        'deviceId: required because the plan caps devices (maxDevices)',
      ]);
      expect(await live(u)).toEqual([]);
    });

    it('every allowed heartbeat refreshes its device; a denied one registers nothing', async () => {
      const u = newUser();
      await beat(u, 'a', { plan: 'devices', deviceId: 'd1' });
      await beat(u, 'b', { plan: 'devices', deviceId: 'd2' });
      const before = (await ctx.store.userDevices(u)).devices.find((d) => d.deviceId === 'd1');
      await sleep(20);
      await beat(u, 'a', { plan: 'devices', deviceId: 'd1', release: false });
      await beat(u, 'c', { plan: 'devices', deviceId: 'd3' });
      const { devices } = await ctx.store.userDevices(u);
      expect(devices.map((d) => d.deviceId)).toEqual(['d1', 'd2']);
      expect(devices[0].lastSeenAt).toBeGreaterThan(before?.lastSeenAt ?? Infinity);
      expect(devices[0].firstSeenAt).toBe(before?.firstSeenAt);
    });
  });

  describe('takeover', () => {
    it('revokes the named live session first, then admits the new one', async () => {
      const u = newUser();
      await beat(u, 'a');
      await beat(u, 'b');
      const res = await heartbeat(ctx.app, {
        userId: u,
        sessionId: 'c',
        takeoverSessionId: 'a',
      });
      expect(res.body).toMatchObject({ decision: 'allow', reason: 'admitted', activeStreams: 2 });
      expect(res.body.evicted).toEqual([expect.objectContaining({ sessionId: 'a' })]);
      expect(await live(u)).toEqual(['b', 'c']);
      expect(await beat(u, 'a')).toMatchObject({ decision: 'deny', reason: 'session_revoked' });
    });

    it("changes nothing for an unknown, lapsed-away, own or other user's session id", async () => {
      const u = newUser();
      const other = newUser();
      await beat(other, 'theirs');
      await beat(u, 'a');
      await beat(u, 'b');
      for (const takeoverSessionId of ['nobody', 'theirs', 'a']) {
        const d = await beat(u, takeoverSessionId === 'a' ? 'a' : 'c', { takeoverSessionId });
        expect(d.takenOver).toBeUndefined();
      }
      expect(await beat(u, 'c', { takeoverSessionId: 'theirs' })).toMatchObject({
        decision: 'deny',
        reason: 'limit_exceeded',
      });
      expect(await live(u)).toEqual(['a', 'b']);
      expect(await live(other)).toEqual(['theirs']);
    });

    it('applies to license-request only: a renewal naming a session changes nothing', async () => {
      const u = newUser();
      await beat(u, 'a');
      await beat(u, 'b');
      const res = await heartbeat(ctx.app, {
        userId: u,
        sessionId: 'b',
        messageType: 'license-renewal',
        takeoverSessionId: 'a',
      });
      expect(res.body).toMatchObject({ decision: 'allow', reason: 'renewed', evicted: [] });
      expect(await live(u)).toEqual(['a', 'b']);
    });
  });

  describe('combinations', () => {
    it('takeover ignores the eviction grace (the user chose)', async () => {
      const u = newUser();
      await beat(u, 'young', { plan: 'takeover-grace' });
      expect(await beat(u, 'new', { plan: 'takeover-grace' })).toMatchObject({
        decision: 'deny',
        reason: 'limit_exceeded',
      });
      const d = await beat(u, 'new', { plan: 'takeover-grace', takeoverSessionId: 'young' });
      expect(d).toMatchObject({ decision: 'allow', reason: 'admitted', activeStreams: 1 });
      expect(d.takenOver).toMatchObject({ sessionId: 'young' });
      expect(await live(u)).toEqual(['new']);
    });

    it('the eviction grace blocks a handoff, which then falls through to onLimit', async () => {
      const u = newUser();
      const on = (device: string) => ({ plan: 'handoff-grace', deviceId: device, contentId: 'm' });
      await beat(u, 'phone', on('phone'));
      const blocked = await beat(u, 'tv', on('tv'));
      expect(blocked).toMatchObject({ decision: 'deny', reason: 'limit_exceeded' });
      expect(ids(blocked)).toEqual(['phone']);
      await sleep(2100);
      await beat(u, 'phone', on('phone'));
      expect(await beat(u, 'tv', on('tv'))).toMatchObject({
        decision: 'allow',
        removed: { cause: 'handoff', slots: 1 },
      });
    });

    it('handoff never replaces a slot on the same device', async () => {
      const u = newUser();
      const on = (s: string, device: string, content: string) =>
        beat(u, s, { plan: 'handoff-pair', deviceId: device, contentId: content });
      await on('a', 'tv', 'm');
      await on('b', 'phone', 'x');
      expect(await on('c', 'tv', 'm')).toMatchObject({
        decision: 'deny',
        reason: 'limit_exceeded',
      });
    });

    it('shadow with a device cap: a third device is allowed and registered, shadow says deny', async () => {
      const u = newUser();
      const counted =
        'usher_shadow_denials_total{plan="shadow-devices",reason="device_limit_exceeded"}';
      const before = await metric(counted);
      for (const device of ['d1', 'd2', 'd3']) {
        await heartbeat(ctx.app, {
          userId: u,
          sessionId: `s-${device}`,
          deviceId: device,
          plan: 'shadow-devices',
        });
      }
      const res = await heartbeat(ctx.app, {
        userId: u,
        sessionId: 's-d4',
        deviceId: 'd4',
        plan: 'shadow-devices',
      });
      expect(res.body).toMatchObject({
        decision: 'allow',
        reason: 'admitted',
        shadow: { decision: 'deny', reason: 'device_limit_exceeded', evicted: [] },
      });
      expect(await metric(counted)).toBe(before + 2);
      const { devices } = await ctx.store.userDevices(u);
      expect(devices.map((d) => d.deviceId).sort()).toEqual(['d1', 'd2', 'd3', 'd4']);
      expect(await live(u)).toEqual(['s-d1', 's-d2', 's-d3', 's-d4']);
    });
  });

  describe('OpenAPI', () => {
    it('describes every new field with an example, and the devices routes', async () => {
      const doc = (await request(ctx.app.getHttpServer()).get('/docs-json')).body;
      const schemas = doc.components.schemas;
      const described = (schema: string, field: string) => {
        const prop = schemas[schema].properties[field];
        expect({ schema, field, description: prop?.description, example: prop?.example }).toEqual({
          schema,
          field,
          description: expect.stringMatching(/\S/),
          example: expect.anything(),
        });
      };
      described('HeartbeatRequestDto', 'takeoverSessionId');
      described('HeartbeatResponseDto', 'shadow');
      expect(schemas.HeartbeatResponseDto.properties.devices.items.$ref).toBe(
        '#/components/schemas/DeviceViewDto',
      );
      expect(schemas.HeartbeatResponseDto.properties.reason.enum).toEqual(
        expect.arrayContaining(['content_limit_exceeded', 'device_limit_exceeded']),
      );
      for (const field of [
        'enforcement',
        'evictionGraceSeconds',
        'handoff',
        'maxStreamsPerContent',
        'maxDevices',
        'deviceWindowHours',
      ]) {
        described('PlanBodyDto', field);
        expect(schemas.PlanDto.properties[field].example).toBeDefined();
      }
      for (const field of [
        'enforcement',
        'evictionGraceSeconds',
        'maxStreamsPerContent',
        'maxDevices',
      ]) {
        expect(schemas.OverrideBodyDto.properties[field].example).toBeDefined();
      }
      expect(Object.keys(doc.paths['/v1/users/{userId}/devices'])).toEqual(['get']);
      expect(Object.keys(doc.paths['/v1/users/{userId}/devices/{deviceId}'])).toEqual(['delete']);
    });
  });

  describe('parallel', () => {
    it('100 parallel takeovers for one user never leave more than maxStreams live slots', async () => {
      const u = newUser();
      await beat(u, 'a');
      await beat(u, 'b');
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          beat(u, `t${i}`, { takeoverSessionId: i % 2 ? 'a' : `t${i - 1}` }),
        ),
      );
      const { sessions, activeStreams } = await ctx.store.userSessions(u);
      expect(activeStreams).toBeLessThanOrEqual(2);
      expect(sessions.length).toBeLessThanOrEqual(2);
      for (const d of results) expect(d.activeStreams).toBeLessThanOrEqual(2);
    });

    it('100 parallel handoffs for one user never leave more than maxStreams live slots', async () => {
      const u = newUser();
      await beat(u, 'p1', { plan: 'handoff-pair', deviceId: 'phone', contentId: 'm' });
      await beat(u, 'p2', { plan: 'handoff-pair', deviceId: 'tablet', contentId: 'm' });
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          beat(u, `tv${i}`, { plan: 'handoff-pair', deviceId: `tv${i}`, contentId: 'm' }),
        ),
      );
      const { sessions } = await ctx.store.userSessions(u);
      expect(sessions.length).toBeLessThanOrEqual(2);
      expect(results.filter((d) => d.removed?.cause === 'handoff').length).toBe(100);
      for (const d of results) expect(d.activeStreams).toBeLessThanOrEqual(2);
    });
  });
});
