import { join } from 'node:path';
import { BadRequestException, Logger, ServiceUnavailableException } from '@nestjs/common';
import { Counter } from 'prom-client';
import { AppConfig, FailMode } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/load-config';
import { Plan } from '../../src/config/plan';
import { HeartbeatRequest } from '../../src/heartbeat/heartbeat.schema';
import { HeartbeatService } from '../../src/heartbeat/heartbeat.service';
import { licensePolicy } from '../../src/heartbeat/license-policy';
import { MetricsService } from '../../src/metrics/metrics.service';
import { PlanRegistry } from '../../src/plans/plan-registry';
import { HeartbeatStore } from '../../src/sessions/heartbeat-store';
import {
  DeviceRequiredError,
  HeartbeatInput,
  StoreDecision,
  StoredSession,
  StoreError,
} from '../../src/sessions/session-types';
import { plan } from '../support/plans';

/*
 * HeartbeatService on its own: a fake HeartbeatStore, the real plan registry (file plans only)
 * and metrics, and fakes of the event publisher and the slot sightings. No Redis, no Nest.
 */

type Deps = ConstructorParameters<typeof HeartbeatService>;
type SessionEvents = Deps[4];
type SlotSightings = Deps[5];

const BASIC: Plan = plan('basic', { maxStreams: 1 });
const FAMILY: Plan = {
  name: 'family',
  maxStreams: 3,
  countBy: 'device',
  onLimit: 'evict-oldest',
  renewalIntervalSeconds: 20,
  graceSeconds: 10,
  maxDownloads: 2,
  downloadDays: 7,
};

function configFor(failMode: FailMode): AppConfig {
  const loaded = loadConfig({
    REDIS_URL: 'redis://127.0.0.1:1',
    USHER_SESSION_ID_SECRET: 'unit-secret',
    USHER_PLANS_FILE: join(__dirname, '..', '..', 'config', 'plans.yaml'),
  });
  return { ...loaded, failMode, plans: { defaultPlan: 'basic', plans: [BASIC, FAMILY] } };
}

/** One labelled value of a counter (0 when never incremented). */
async function valueOf(counter: Counter<string>, labels: Record<string, string>): Promise<number> {
  const { values } = await counter.get();
  const found = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

async function total(counter: Counter<string>): Promise<number> {
  return (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);
}

function setUp(failMode: FailMode, answer: (input: HeartbeatInput) => Promise<StoreDecision>) {
  const config = configFor(failMode);
  const metrics = new MetricsService();
  const asked: HeartbeatInput[] = [];
  const store: HeartbeatStore = {
    heartbeat: (input) => {
      asked.push(input);
      return answer(input);
    },
  };
  const events = { decided: jest.fn<void, Parameters<SessionEvents['decided']>>() };
  const sightings = { sighted: jest.fn<void, Parameters<SlotSightings['sighted']>>() };
  const service = new HeartbeatService(
    config,
    store,
    new PlanRegistry(config, metrics),
    metrics,
    // HeartbeatService takes the classes; each fake has the one method it calls.
    events as unknown as SessionEvents,
    sightings as unknown as SlotSightings,
  );
  return { service, metrics, asked, events, sightings };
}

const renewal: HeartbeatRequest = {
  userId: 'u1',
  drm: 'widevine',
  messageType: 'license-renewal',
  sessionId: 's1',
  plan: 'family',
};

const failing = (kind: StoreError['kind']) => () =>
  Promise.reject(new StoreError(kind, new Error('no answer')));

let warn: jest.SpyInstance;
let log: jest.SpyInstance;
beforeEach(() => {
  warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('HeartbeatService when the store cannot answer, USHER_FAIL_MODE=open', () => {
  it.each(['timeout', 'connection', 'overload', 'script'] as const)(
    'a store error of kind %s: allow degraded under the requested plan, counted, nothing published',
    async (kind) => {
      const { service, metrics, events, sightings } = setUp('open', failing(kind));
      const response = await service.decide(renewal);
      expect(response).toEqual({
        decision: 'allow',
        reason: 'degraded',
        sessionId: 's1',
        plan: 'family',
        countBy: 'device',
        activeStreams: 0,
        maxStreams: 3,
        renewAfterSeconds: 20,
        expiresInSeconds: 30,
        evicted: [],
        conflicts: [],
        license: licensePolicy('streaming', FAMILY),
      });
      expect(await valueOf(metrics.degradedDecisions, { fail_mode: 'open' })).toBe(1);
      expect(
        await valueOf(metrics.heartbeats, {
          decision: 'allow',
          reason: 'degraded',
          drm: 'widevine',
          message_type: 'license-renewal',
          plan: 'family',
        }),
      ).toBe(1);
      expect(events.decided).not.toHaveBeenCalled();
      expect(sightings.sighted).not.toHaveBeenCalled();
    },
  );

  it('answers under the default plan when the request names none, or one that does not exist', async () => {
    const { service } = setUp('open', failing('timeout'));
    for (const plan of [undefined, 'gold']) {
      const response = await service.decide({ ...renewal, plan });
      expect(response).toMatchObject({
        plan: 'basic',
        countBy: 'session',
        maxStreams: 1,
        renewAfterSeconds: 60,
        expiresInSeconds: 90,
        license: licensePolicy('streaming', BASIC),
      });
    }
  });

  it('gives a persistent licence the download policy: no renewal, lives downloadDays', async () => {
    const { service } = setUp('open', failing('connection'));
    const response = await service.decide({ ...renewal, licenseType: 'persistent' });
    expect(response).toMatchObject({
      reason: 'degraded',
      renewAfterSeconds: 0,
      expiresInSeconds: 7 * 86400,
      license: licensePolicy('persistent', FAMILY),
    });
  });

  it('warns once per outage, and says when the store answers again', async () => {
    let down = true;
    const { service } = setUp('open', () =>
      down ? failing('timeout')() : Promise.resolve(renewed()),
    );
    await service.decide(renewal);
    await service.decide(renewal);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      'store not answering (store timeout error: no answer); fail mode open',
    );
    down = false;
    await service.decide(renewal);
    await service.decide(renewal);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log).toHaveBeenCalledWith('store answering again');
    down = true;
    await service.decide(renewal);
    expect(warn).toHaveBeenCalledTimes(2);
  });
});

describe('HeartbeatService when the store cannot answer, USHER_FAIL_MODE=closed', () => {
  it.each(['timeout', 'connection', 'overload'] as const)(
    'a store error of kind %s: 503, counted as degraded, no heartbeat counted, nothing published',
    async (kind) => {
      const { service, metrics, events, sightings } = setUp('closed', failing(kind));
      const answer = service.decide(renewal);
      await expect(answer).rejects.toBeInstanceOf(ServiceUnavailableException);
      await expect(answer).rejects.toMatchObject({
        status: 503,
        message: 'the session store is unavailable (USHER_FAIL_MODE=closed)',
      });
      expect(await valueOf(metrics.degradedDecisions, { fail_mode: 'closed' })).toBe(1);
      expect(await valueOf(metrics.degradedDecisions, { fail_mode: 'open' })).toBe(0);
      expect(await total(metrics.heartbeats)).toBe(0);
      expect(events.decided).not.toHaveBeenCalled();
      expect(sightings.sighted).not.toHaveBeenCalled();
    },
  );
});

describe.each(['open', 'closed'] as const)('HeartbeatService, fail mode %s', (failMode) => {
  it('lets an error that is not a store failure through: not degraded, not counted', async () => {
    const bug = new TypeError('reply.map is not a function');
    const { service, metrics } = setUp(failMode, () => Promise.reject(bug));
    await expect(service.decide(renewal)).rejects.toBe(bug);
    expect(await total(metrics.degradedDecisions)).toBe(0);
    expect(await total(metrics.heartbeats)).toBe(0);
  });

  it('answers a missing deviceId the plan needs with a 400 naming it', async () => {
    const { service, metrics } = setUp(failMode, () => Promise.reject(new DeviceRequiredError()));
    const answer = service.decide(renewal);
    await expect(answer).rejects.toBeInstanceOf(BadRequestException);
    await expect(answer).rejects.toMatchObject({
      response: { problems: ['deviceId: required because the plan counts streams by device'] },
    });
    expect(await total(metrics.degradedDecisions)).toBe(0);
  });
});

const stored = (sessionId: string, startedAt: number): StoredSession => ({
  sessionId,
  deviceId: 'phone',
  drm: 'widevine',
  contentId: 'film',
  startedAt,
  lastSeenAt: startedAt + 1000,
});

function renewed(d: Partial<StoreDecision> = {}): StoreDecision {
  return {
    decision: 'allow',
    reason: 'renewed',
    plan: 'family',
    countBy: 'device',
    maxStreams: 3,
    activeStreams: 1,
    renewalIntervalSeconds: 20,
    graceSeconds: 10,
    sessions: [],
    ...d,
  };
}

describe('HeartbeatService when the store decides', () => {
  it('asks the store with the effective session id; a takeover only on a license-request', async () => {
    const { service, asked } = setUp('open', () => Promise.resolve(renewed()));
    await service.decide({
      ...renewal,
      messageType: 'license-request',
      customSessionId: 'mine',
      deviceId: 'tv',
      contentId: 'film',
      takeoverSessionId: 'other',
    });
    await service.decide({ ...renewal, takeoverSessionId: 'other' });
    await service.decide({ ...renewal, messageType: 'license-release' });
    expect(asked).toEqual([
      {
        userId: 'u1',
        release: false,
        sessionId: 'mine',
        deviceId: 'tv',
        drm: 'widevine',
        contentId: 'film',
        plan: 'family',
        persistent: false,
        takeoverSessionId: 'other',
      },
      expect.not.objectContaining({ takeoverSessionId: expect.anything() }),
      expect.objectContaining({ release: true, sessionId: 's1' }),
    ]);
  });

  it('hands each decision to the events and the sightings, and counts what it ended', async () => {
    const decision = renewed({
      reason: 'admitted',
      activeStreams: 3,
      sessions: [stored('old1', 1_000), stored('old2', 2_000)],
      removed: { cause: 'evict_oldest', slots: 2 },
      takenOver: stored('taken', 500),
      shadow: { decision: 'deny', reason: 'limit_exceeded', evicted: [] },
    });
    const { service, metrics, asked, events, sightings } = setUp('open', () =>
      Promise.resolve(decision),
    );
    const response = await service.decide({ ...renewal, messageType: 'license-request' });
    expect(events.decided).toHaveBeenCalledWith(asked[0], decision);
    expect(sightings.sighted).toHaveBeenCalledWith(asked[0], decision);
    expect(await valueOf(metrics.evictions, { plan: 'family', cause: 'evict_oldest' })).toBe(2);
    expect(await valueOf(metrics.evictions, { plan: 'family', cause: 'takeover' })).toBe(1);
    expect(await valueOf(metrics.shadowDenials, { plan: 'family', reason: 'limit_exceeded' })).toBe(
      1,
    );
    expect(response.evicted.map((s) => s.sessionId)).toEqual(['taken', 'old1', 'old2']);
    expect(response.conflicts).toEqual([]);
    expect(await total(metrics.degradedDecisions)).toBe(0);
  });

  it.each([
    { reason: 'admitted', decision: 'allow', outcome: 'admitted' },
    { reason: 'renewed', decision: 'allow', outcome: 'reissued' },
    { reason: 'download_limit_exceeded', decision: 'deny', outcome: 'denied' },
    { reason: 'released', decision: 'allow', outcome: 'returned' },
  ] as const)(
    'counts a persistent licence $reason in usher_downloads_total as $outcome',
    async ({ reason, decision, outcome }) => {
      const { service, metrics } = setUp('open', () =>
        Promise.resolve(renewed({ decision, reason, downloadLapseMs: 3_600_000 })),
      );
      await service.decide({ ...renewal, licenseType: 'persistent' });
      expect(await valueOf(metrics.downloads, { plan: 'family', outcome })).toBe(1);
      expect(await total(metrics.downloads)).toBe(1);
    },
  );
});
