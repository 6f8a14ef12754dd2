import { effectiveSessionId, synthesizeSessionId } from '../../src/sessions/session-identity';

const SECRET = 'unit-secret';

describe('session identity (customSessionId, else sessionId, else synthesized)', () => {
  it('prefers customSessionId over the native sessionId over synthesis', () => {
    const all = { userId: 'u', customSessionId: 'c', sessionId: 'n', deviceId: 'd' };
    expect(effectiveSessionId(SECRET, all)).toBe('c');
    expect(effectiveSessionId(SECRET, { ...all, customSessionId: undefined })).toBe('n');
    expect(effectiveSessionId(SECRET, { userId: 'u', deviceId: 'd' })).toMatch(/^syn-/);
  });

  it('cannot synthesize without a deviceId', () => {
    expect(effectiveSessionId(SECRET, { userId: 'u', contentId: 'm' })).toBeUndefined();
  });

  it('synthesizes syn- plus 22 base64url characters, stable for the same inputs', () => {
    const id = synthesizeSessionId(SECRET, 'user-1', 'device-1', 'movie-1');
    expect(id).toMatch(/^syn-[A-Za-z0-9_-]{22}$/);
    expect(synthesizeSessionId(SECRET, 'user-1', 'device-1', 'movie-1')).toBe(id);
  });

  it('differs by user, device, content and secret', () => {
    const id = synthesizeSessionId(SECRET, 'u', 'd', 'm');
    expect(synthesizeSessionId(SECRET, 'u2', 'd', 'm')).not.toBe(id);
    expect(synthesizeSessionId(SECRET, 'u', 'd2', 'm')).not.toBe(id);
    expect(synthesizeSessionId(SECRET, 'u', 'd', 'm2')).not.toBe(id);
    expect(synthesizeSessionId('other-secret', 'u', 'd', 'm')).not.toBe(id);
  });

  it('treats an absent contentId as empty', () => {
    expect(synthesizeSessionId(SECRET, 'u', 'd')).toBe(synthesizeSessionId(SECRET, 'u', 'd', ''));
  });

  it('cannot be confused by moving characters between fields', () => {
    expect(synthesizeSessionId(SECRET, 'ab', 'c', '')).not.toBe(
      synthesizeSessionId(SECRET, 'a', 'bc', ''),
    );
  });
});
