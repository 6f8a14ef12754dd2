/**
 * Ids (userId, sessionId, customSessionId, deviceId, contentId) are URL-safe printable
 * characters, so they can never break a Redis key, a metric or a log line (README, "How a
 * license server uses usher"). Every input that carries one checks it here.
 */
export const ID_PATTERN = /^[A-Za-z0-9._~:@+=-]+$/;
export const ID_ALPHABET = 'A-Z a-z 0-9 . _ ~ : @ + = -';
export const USER_ID_MAX = 128;
export const ID_MAX = 256;

/** What is wrong with one id, named by its field, or undefined when it is fine. */
export function idProblem(field: string, value: unknown, max = ID_MAX): string | undefined {
  if (typeof value !== 'string') return `${field}: must be a string`;
  if (value.length < 1 || value.length > max) return `${field}: must be 1-${max} characters`;
  if (!ID_PATTERN.test(value)) return `${field}: may only contain ${ID_ALPHABET}`;
  return undefined;
}
