import { BadRequestException } from '@nestjs/common';
import {
  assertIds,
  needsClock,
  OverrideCheck,
  validateOverride,
} from '../../src/admin/admin-validation';

/** PUT /v1/users/{userId}/override bodies and the admin path ids (docs/admin-api.md). */

const NOW = Date.parse('2030-01-01T00:00:00Z');
const check: OverrideCheck = {
  isKnownPlan: (name: string) => name === 'basic' || name === 'family',
  now: NOW,
};
const problemsOf = (body: unknown, c: OverrideCheck = check) => validateOverride(body, c).problems;

describe('validateOverride', () => {
  it('takes every field an override may set', () => {
    expect(
      validateOverride(
        {
          plan: 'family',
          maxStreams: 0,
          countBy: 'device',
          onLimit: 'evict-oldest',
          maxDownloads: 1000,
          enforcement: 'shadow',
          evictionGraceSeconds: 86400,
          maxStreamsPerContent: 1,
          maxDevices: 100,
          expiresAt: '2030-01-01T02:00:00+01:00',
        },
        check,
      ),
    ).toEqual({
      override: {
        plan: 'family',
        maxStreams: 0,
        countBy: 'device',
        onLimit: 'evict-oldest',
        maxDownloads: 1000,
        enforcement: 'shadow',
        evictionGraceSeconds: 86400,
        maxStreamsPerContent: 1,
        maxDevices: 100,
        expiresAt: NOW + 3_600_000,
      },
      problems: [],
    });
  });

  it('needs a JSON object', () => {
    for (const body of [null, [], 'plan', 3]) {
      expect(problemsOf(body)).toEqual(['body: must be a JSON object']);
    }
  });

  it('needs at least one policy field; a control field alone is enough, expiresAt is not', () => {
    const required =
      'body: at least one of plan, maxStreams, countBy, onLimit, maxDownloads is required';
    expect(problemsOf({})).toEqual([required]);
    expect(problemsOf({ expiresAt: '2031-01-01T00:00:00Z' })).toEqual([required]);
    expect(problemsOf({ maxDevices: 2 })).toEqual([]);
    expect(problemsOf({ enforcement: 'enforce' })).toEqual([]);
  });

  it('names every bad field at once', () => {
    expect(
      problemsOf({
        plan: 'gold',
        maxStreams: 101,
        countBy: 'household',
        onLimit: 'kick',
        maxDownloads: -1,
        enforcement: 'audit',
        evictionGraceSeconds: 1.5,
        maxStreamsPerContent: 0,
        maxDevices: '2',
        colour: 'red',
      }),
    ).toEqual([
      'colour: unknown field',
      'plan: "gold" is not a known plan',
      'maxStreams: must be an integer from 0 to 100',
      'maxDownloads: must be an integer from 0 to 1000',
      'evictionGraceSeconds: must be an integer from 0 to 86400',
      'maxStreamsPerContent: must be an integer from 1 to 100',
      'maxDevices: must be an integer from 1 to 100',
      'countBy: must be one of session, device',
      'onLimit: must be one of reject-new, evict-oldest',
      'enforcement: must be one of enforce, shadow',
    ]);
  });

  it('names a plan that is not a string as unknown', () => {
    expect(problemsOf({ plan: 7 })).toEqual(['plan: 7 is not a known plan']);
  });

  it('expiresAt: an ISO 8601 date-time with a zone, after now by the Redis clock', () => {
    const format =
      'expiresAt: must be an ISO 8601 date-time with a zone, e.g. 2030-01-31T18:00:00Z';
    for (const expiresAt of ['2030-06-01T00:00:00', '2030-06-01', 'tomorrow', NOW + 1000]) {
      expect(problemsOf({ maxStreams: 1, expiresAt })).toEqual([format]);
    }
    expect(problemsOf({ maxStreams: 1, expiresAt: '2030-01-01T00:00:00Z' })).toEqual([
      'expiresAt: must be in the future',
    ]);
    // without the Redis clock nothing can be said to be in the future
    expect(
      problemsOf(
        { maxStreams: 1, expiresAt: '2099-01-01T00:00:00Z' },
        { isKnownPlan: check.isKnownPlan, now: undefined },
      ),
    ).toEqual(['expiresAt: must be in the future']);
    expect(
      validateOverride({ maxStreams: 1, expiresAt: '2030-01-01T00:00:00.5Z' }, check).override,
    ).toEqual({ maxStreams: 1, expiresAt: NOW + 500 });
  });
});

describe('needsClock', () => {
  it('only a body with an expiresAt needs the Redis clock', () => {
    expect(needsClock({ maxStreams: 1, expiresAt: 'x' })).toBe(true);
    expect(needsClock({ maxStreams: 1 })).toBe(false);
    expect(needsClock(null)).toBe(false);
    expect(needsClock('expiresAt')).toBe(false);
  });
});

describe('assertIds', () => {
  it('accepts the heartbeat id alphabet and lengths', () => {
    expect(() =>
      assertIds({ userId: 'a'.repeat(128), sessionId: 'syn-x.~:@+=_-', deviceId: 'd'.repeat(256) }),
    ).not.toThrow();
  });

  it('names every bad id in one 400', () => {
    let thrown: unknown;
    try {
      assertIds({ userId: 'a b', sessionId: '', deviceId: 'x'.repeat(257) });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(BadRequestException);
    expect((thrown as BadRequestException).getResponse()).toMatchObject({
      statusCode: 400,
      problems: [
        'userId: may only contain A-Z a-z 0-9 . _ ~ : @ + = -',
        'sessionId: must be 1-256 characters',
        'deviceId: must be 1-256 characters',
      ],
    });
    expect(() => assertIds({ userId: 'u'.repeat(129) })).toThrow(
      'userId: must be 1-128 characters',
    );
  });
});
