/**
 * The admin token lives in sessionStorage only: gone when the tab closes, never in a URL,
 * never in localStorage, never logged.
 */
const KEY = 'usher.adminToken';

export function readToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
