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

  it('accepts every DRM and message type, and every id character of SPEC §4', () => {
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

  it('rejects a body that is not an object', () => {
    for (const body of [null, [], 'text', 3]) {
      expect(problemsOf(body)).toEqual(['body: must be a JSON object']);
    }
  });
});
