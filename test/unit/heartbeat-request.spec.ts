import { validateHeartbeat } from '../../src/heartbeat/heartbeat-request';

const known = (name: string) => ['basic', 'family'].includes(name);
const valid = {
  userId: 'user-1',
  drm: 'widevine',
  messageType: 'license-request',
  sessionId: 's1',
};
const problemsOf = (body: unknown) => validateHeartbeat(body, known).problems;

describe('validateHeartbeat', () => {
  it('accepts a valid heartbeat', () => {
    expect(validateHeartbeat(valid, known)).toEqual({ request: valid, problems: [] });
  });

  it('accepts every DRM and message type, and every id character (A-Z a-z 0-9 . _ ~ : @ + = -)', () => {
    for (const drm of ['widevine', 'playready', 'fairplay', 'clearkey']) {
      for (const messageType of ['license-request', 'license-renewal', 'license-release']) {
        expect(problemsOf({ ...valid, drm, messageType })).toEqual([]);
      }
    }
    expect(problemsOf({ ...valid, userId: 'Az09._~:@+=-' })).toEqual([]);
  });

  it('names every invalid field at once', () => {
    const problems = problemsOf({
      userId: '',
      drm: 'netflix',
      messageType: 'ping',
      extra: 1,
      plan: 'gold',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^extra: unknown field/),
        expect.stringMatching(/^userId: must be 1-128/),
        expect.stringMatching(/^drm: must be one of/),
        expect.stringMatching(/^messageType: must be one of/),
        expect.stringMatching(/^plan: "gold" is not a known plan/),
        expect.stringMatching(/^deviceId: required/),
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it('requires userId, drm and messageType', () => {
    expect(problemsOf({ sessionId: 's' })).toEqual([
      'userId: required',
      expect.stringMatching(/^drm: required/),
      expect.stringMatching(/^messageType: required/),
    ]);
  });

  it('bounds id lengths: userId 128, other ids 256', () => {
    expect(problemsOf({ ...valid, userId: 'u'.repeat(128) })).toEqual([]);
    expect(problemsOf({ ...valid, userId: 'u'.repeat(129) })).toEqual([
      'userId: must be 1-128 characters',
    ]);
    expect(problemsOf({ ...valid, contentId: 'c'.repeat(256) })).toEqual([]);
    expect(problemsOf({ ...valid, contentId: 'c'.repeat(257) })).toEqual([
      'contentId: must be 1-256 characters',
    ]);
  });

  it('rejects characters outside the id alphabet and non-strings', () => {
    expect(problemsOf({ ...valid, userId: 'a b' })).toEqual([
      expect.stringMatching(/^userId: may only contain/),
    ]);
    expect(problemsOf({ ...valid, deviceId: 'd{1}' })).toEqual([
      expect.stringMatching(/^deviceId: may only/),
    ]);
    expect(problemsOf({ ...valid, sessionId: 42 })).toEqual(['sessionId: must be a string']);
    expect(problemsOf({ ...valid, sessionId: 'x\ny' })).toEqual([
      expect.stringMatching(/^sessionId: may only/),
    ]);
  });

  it('needs deviceId when there is no session id to use (PlayReady)', () => {
    const playready = { userId: 'u', drm: 'playready', messageType: 'license-request' };
    expect(problemsOf(playready)).toEqual([expect.stringMatching(/^deviceId: required/)]);
    expect(problemsOf({ ...playready, deviceId: 'd' })).toEqual([]);
    expect(problemsOf({ ...playready, customSessionId: 'c' })).toEqual([]);
  });

  it('names one problem per field, and the first of several', () => {
    // too long and outside the alphabet: the length is named
    expect(problemsOf({ ...valid, userId: ' '.repeat(129) })).toEqual([
      'userId: must be 1-128 characters',
    ]);
    expect(problemsOf({ ...valid, drm: 5 })).toEqual([
      'drm: must be one of widevine, playready, fairplay, clearkey',
    ]);
  });

  it('names wrong types, plan included, without coercing them', () => {
    expect(problemsOf({ ...valid, userId: null, plan: 42, contentId: ['c'] })).toEqual([
      'userId: must be a string',
      'contentId: must be a string',
      'plan: must be a string',
    ]);
    expect(problemsOf({ ...valid, messageType: { $ne: 1 } })).toEqual([
      expect.stringMatching(/^messageType: must be one of/),
    ]);
  });

  it('lists unknown fields first, then the fields in the order of the contract', () => {
    expect(
      problemsOf({ zz: 1, licenseType: 'rental', drm: 'x', messageType: 'license-request' }),
    ).toEqual([
      'zz: unknown field',
      'userId: required',
      expect.stringMatching(/^drm: must be one of/),
      expect.stringMatching(/^deviceId: required when/),
      expect.stringMatching(/^licenseType: must be one of/),
    ]);
  });

  it('adds no default and removes nothing', () => {
    const body = { ...valid };
    expect(validateHeartbeat(body, known).request).toBe(body);
    expect(body).toEqual(valid);
    const extra = { ...valid, colour: 'red' };
    expect(problemsOf(extra)).toEqual(['colour: unknown field']);
    expect(extra).toHaveProperty('colour', 'red');
  });

  it('names prototype keys as unknown fields and pollutes nothing', () => {
    const body = JSON.parse(
      '{"userId":"u","drm":"widevine","messageType":"license-request","sessionId":"s",' +
        '"__proto__":{"plan":"gold"},"constructor":{"prototype":{"plan":"gold"}}}',
    );
    expect(problemsOf(body)).toEqual(['__proto__: unknown field', 'constructor: unknown field']);
    expect(({} as Record<string, unknown>).plan).toBeUndefined();
    // a plan name that is an Object.prototype member is still only a name
    expect(problemsOf({ ...valid, plan: 'constructor' })).toEqual([
      'plan: "constructor" is not a known plan',
    ]);
  });

  it('rejects a body that is not an object', () => {
    for (const body of [null, undefined, [], 'text', 3]) {
      expect(problemsOf(body)).toEqual(['body: must be a JSON object']);
    }
  });
});
