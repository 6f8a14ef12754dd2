import {
  decisionEvents,
  sessionEvent,
  SessionEventFields,
  terminationEvents,
} from '../../src/events/session-event';
import { HeartbeatInput, StoreDecision, StoredSession } from '../../src/sessions/session-types';

/** The events a decision and a termination make (docs/events.md), built without any I/O. */

const input: HeartbeatInput = {
  userId: 'u1',
  release: false,
  sessionId: 'new',
  deviceId: 'tv',
  drm: 'playready',
  contentId: 'film',
  plan: 'family',
};

const stored = (sessionId: string, fields: Partial<StoredSession> = {}): StoredSession => ({
  sessionId,
  drm: 'widevine',
  startedAt: 1_000,
  lastSeenAt: 2_000,
  ...fields,
});

function decision(d: Partial<StoreDecision>): StoreDecision {
  return {
    decision: 'allow',
    reason: 'admitted',
    plan: 'family',
    countBy: 'session',
    maxStreams: 2,
    activeStreams: 1,
    renewalIntervalSeconds: 60,
    graceSeconds: 30,
    sessions: [],
    ...d,
  };
}

/** The heartbeat's own session, as every event about it carries it. */
const own = {
  userId: 'u1',
  sessionId: 'new',
  deviceId: 'tv',
  drm: 'playready',
  contentId: 'film',
  licenseType: 'streaming',
  plan: 'family',
  maxStreams: 2,
};

describe('decisionEvents', () => {
  it('a renewal publishes nothing', () => {
    expect(decisionEvents(input, decision({ reason: 'renewed' }))).toEqual([]);
  });

  it('an admission: session.admitted with the session, the plan and the counts after it', () => {
    expect(decisionEvents(input, decision({ activeStreams: 2 }))).toEqual([
      { ...own, type: 'session.admitted', reason: 'admitted', activeStreams: 2 },
    ]);
  });

  it('a release: session.released', () => {
    const events = decisionEvents(
      { ...input, release: true },
      decision({ reason: 'released', activeStreams: 0 }),
    );
    expect(events).toEqual([
      { ...own, type: 'session.released', reason: 'released', activeStreams: 0 },
    ]);
  });

  it('an id the heartbeat did not send is null; a download is persistent', () => {
    const [event] = decisionEvents(
      { userId: 'u2', release: false, sessionId: 'd1', drm: 'fairplay', persistent: true },
      decision({ plan: 'basic' }),
    );
    expect(event).toMatchObject({
      userId: 'u2',
      sessionId: 'd1',
      deviceId: null,
      contentId: null,
      drm: 'fairplay',
      licenseType: 'persistent',
      plan: 'basic',
    });
  });

  it.each([
    'limit_exceeded',
    'session_revoked',
    'download_limit_exceeded',
    'content_limit_exceeded',
    'device_limit_exceeded',
  ] as const)('a deny %s: session.denied with that reason', (reason) => {
    const conflicting = [stored('live')];
    expect(
      decisionEvents(input, decision({ decision: 'deny', reason, sessions: conflicting })),
    ).toEqual([{ ...own, type: 'session.denied', reason, activeStreams: 1 }]);
  });

  it('evict-oldest: session.evicted for each session it ended, with its own fields', () => {
    const events = decisionEvents(
      input,
      decision({
        activeStreams: 2,
        sessions: [stored('a', { deviceId: 'phone' }), stored('b', { contentId: 'show' })],
        removed: { cause: 'evict_oldest', slots: 2 },
      }),
    );
    const counts = { plan: 'family', activeStreams: 2, maxStreams: 2 };
    expect(events).toEqual([
      { ...own, type: 'session.admitted', reason: 'admitted', activeStreams: 2 },
      {
        type: 'session.evicted',
        reason: 'evict_oldest',
        userId: 'u1',
        sessionId: 'a',
        deviceId: 'phone',
        drm: 'widevine',
        contentId: null,
        licenseType: 'streaming',
        ...counts,
      },
      {
        type: 'session.evicted',
        reason: 'evict_oldest',
        userId: 'u1',
        sessionId: 'b',
        deviceId: null,
        drm: 'widevine',
        contentId: 'show',
        licenseType: 'streaming',
        ...counts,
      },
    ]);
  });

  it('a lowered limit: the denied session itself is evicted (limit_lowered)', () => {
    const events = decisionEvents(
      input,
      decision({
        decision: 'deny',
        reason: 'limit_exceeded',
        sessions: [stored('kept')],
        removed: { cause: 'limit_lowered', slots: 1 },
      }),
    );
    expect(events.map((e) => [e.type, e.sessionId, e.reason])).toEqual([
      ['session.denied', 'new', 'limit_exceeded'],
      ['session.evicted', 'new', 'limit_lowered'],
    ]);
  });
});

describe('terminationEvents', () => {
  const ended = { plan: 'basic', sessions: [stored('a', { deviceId: 'tv' }), stored('b')] };

  it('one session.terminated per ended session; counts null when not known', () => {
    expect(terminationEvents('u1', ended)).toEqual([
      {
        type: 'session.terminated',
        reason: 'terminated',
        userId: 'u1',
        sessionId: 'a',
        deviceId: 'tv',
        drm: 'widevine',
        contentId: null,
        licenseType: 'streaming',
        plan: 'basic',
        activeStreams: null,
        maxStreams: null,
      },
      expect.objectContaining({ sessionId: 'b', deviceId: null, activeStreams: null }),
    ]);
  });

  it('carries the counts after the termination when given', () => {
    const events = terminationEvents('u1', ended, { activeStreams: 0, maxStreams: 3 });
    expect(events.map((e) => [e.activeStreams, e.maxStreams])).toEqual([
      [0, 3],
      [0, 3],
    ]);
  });

  it('nothing ended, nothing published', () => {
    expect(terminationEvents('u1', { plan: 'basic', sessions: [] })).toEqual([]);
  });
});

describe('sessionEvent', () => {
  const fields: SessionEventFields = {
    maxStreams: 2,
    activeStreams: 1,
    licenseType: 'streaming',
    reason: 'admitted',
    plan: 'family',
    contentId: null,
    drm: 'widevine',
    deviceId: 'tv',
    sessionId: 's',
    userId: 'u',
    type: 'session.admitted',
  };

  it('gives the event a fresh id and the time, fields in the documented order', () => {
    const at = new Date('2030-01-31T18:00:00.123Z');
    const event = sessionEvent(fields, at);
    expect(Object.keys(event)).toEqual([
      'type',
      'id',
      'occurredAt',
      'userId',
      'sessionId',
      'deviceId',
      'drm',
      'contentId',
      'plan',
      'reason',
      'licenseType',
      'activeStreams',
      'maxStreams',
    ]);
    expect(event).toMatchObject({ ...fields, occurredAt: '2030-01-31T18:00:00.123Z' });
    expect(event.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(sessionEvent(fields, at).id).not.toBe(event.id);
  });
});
