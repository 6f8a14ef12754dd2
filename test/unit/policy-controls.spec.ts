import { parsePlanCatalog } from '../../src/config/plan';
import { validateHeartbeat } from '../../src/heartbeat/heartbeat-request';
import { decisionEvents } from '../../src/events/session-event';
import { encodePlanTable } from '../../src/sessions/plan-table';
import { HeartbeatInput, StoreDecision, StoredSession } from '../../src/sessions/session-store';

describe('rollout and fairness controls: plans file', () => {
  it('loads every control field, and a plans file without them as before', () => {
    const { catalog, problems } = parsePlanCatalog(
      {
        defaultPlan: 'basic',
        plans: {
          basic: { maxStreams: 1 },
          live: {
            maxStreams: 2,
            enforcement: 'shadow',
            evictionGraceSeconds: 120,
            handoff: true,
            maxStreamsPerContent: 1,
            maxDevices: 5,
            deviceWindowHours: 24,
          },
        },
      },
      'plans.yaml',
    );
    expect(problems).toEqual([]);
    expect(catalog?.plans[0]).toEqual({
      name: 'basic',
      maxStreams: 1,
      countBy: 'session',
      onLimit: 'reject-new',
      renewalIntervalSeconds: 60,
      graceSeconds: 30,
    });
    expect(catalog?.plans[1]).toMatchObject({
      enforcement: 'shadow',
      evictionGraceSeconds: 120,
      handoff: true,
      maxStreamsPerContent: 1,
      maxDevices: 5,
      deviceWindowHours: 24,
    });
    // the Lua plan table: controls only on a plan that sets one, the others at their defaults
    expect(encodePlanTable(catalog?.plans ?? [])).toBe(
      '\nbasic 1 session reject-new 60 30 -1 30\n' +
        'live 2 session reject-new 60 30 -1 30 shadow 120 1 1 5 24\n',
    );
  });

  it('names every bad control field of every plan', () => {
    const { problems } = parsePlanCatalog(
      {
        defaultPlan: 'basic',
        plans: { basic: { enforcement: 'soft', handoff: 'no', maxDevices: 0 } },
      },
      'plans.yaml',
    );
    expect(problems).toEqual([
      'plans.yaml: plans.basic.maxDevices: must be an integer from 1 to 100',
      'plans.yaml: plans.basic.enforcement: must be one of enforce, shadow',
      'plans.yaml: plans.basic.handoff: must be true or false',
    ]);
  });
});

describe('rollout and fairness controls: events', () => {
  const input: HeartbeatInput = {
    userId: 'u',
    release: false,
    sessionId: 'new',
    deviceId: 'tv',
    drm: 'widevine',
    contentId: 'm',
  };
  const stored = (sessionId: string): StoredSession => ({
    sessionId,
    deviceId: 'phone',
    drm: 'widevine',
    contentId: 'm',
    startedAt: 1,
    lastSeenAt: 2,
  });
  const decision = (d: Partial<StoreDecision>): StoreDecision => ({
    decision: 'allow',
    reason: 'admitted',
    plan: 'p',
    countBy: 'session',
    maxStreams: 1,
    activeStreams: 1,
    renewalIntervalSeconds: 60,
    graceSeconds: 30,
    sessions: [],
    ...d,
  });

  it('session.evicted carries takeover and handoff', () => {
    const events = decisionEvents(
      input,
      decision({
        takenOver: stored('chosen'),
        sessions: [stored('phone')],
        removed: { cause: 'handoff', slots: 1 },
      }),
    );
    expect(events.map((e) => [e.type, e.sessionId, e.reason])).toEqual([
      ['session.admitted', 'new', 'admitted'],
      ['session.evicted', 'chosen', 'takeover'],
      ['session.evicted', 'phone', 'handoff'],
    ]);
  });

  it('session.denied carries content_limit_exceeded and device_limit_exceeded', () => {
    for (const reason of ['content_limit_exceeded', 'device_limit_exceeded'] as const) {
      const [denied] = decisionEvents(input, decision({ decision: 'deny', reason }));
      expect(denied).toMatchObject({ type: 'session.denied', reason });
    }
  });
});

describe('rollout and fairness controls: takeoverSessionId', () => {
  const valid = { userId: 'u', drm: 'widevine', messageType: 'license-request', sessionId: 's' };
  const problemsOf = (body: unknown) => validateHeartbeat(body, () => true).problems;

  it('accepts an id of the session alphabet, 1-256 characters', () => {
    expect(problemsOf({ ...valid, takeoverSessionId: 'syn-3q2x7wQnZ0bT4mKp1aL9cA' })).toEqual([]);
    expect(problemsOf({ ...valid, takeoverSessionId: 'a'.repeat(256) })).toEqual([]);
  });

  it('names a bad takeoverSessionId', () => {
    expect(problemsOf({ ...valid, takeoverSessionId: '' })).toEqual([
      'takeoverSessionId: must be 1-256 characters',
    ]);
    expect(problemsOf({ ...valid, takeoverSessionId: 'a'.repeat(257) })).toEqual([
      'takeoverSessionId: must be 1-256 characters',
    ]);
    expect(problemsOf({ ...valid, takeoverSessionId: 'a b' })).toEqual([
      'takeoverSessionId: may only contain A-Z a-z 0-9 . _ ~ : @ + = -',
    ]);
    expect(problemsOf({ ...valid, takeoverSessionId: 7 })).toEqual([
      'takeoverSessionId: must be a string',
    ]);
  });
});
