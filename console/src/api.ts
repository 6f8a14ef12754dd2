import { forgetToken, readToken } from './token';

/** An answer of the admin API other than 2xx; `problems` name fields on a 400. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}

let onSignedOut: () => void = () => undefined;

/** Called when the API answers 401: the token is gone or no longer valid. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

type Method = 'GET' | 'PUT' | 'DELETE';

async function send(method: Method, path: string, token: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
  });
}

async function parse<T>(res: Response): Promise<T> {
  const text = await res.text();
  const data: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const error = (data ?? {}) as { message?: unknown; problems?: unknown };
    const problems = Array.isArray(error.problems) ? error.problems.map(String) : [];
    const message = typeof error.message === 'string' ? error.message : res.statusText;
    throw new ApiError(res.status, message, problems);
  }
  return data as T;
}

/** One admin API call with the signed-in token; a 401 signs out. */
export async function api<T = unknown>(method: Method, path: string, body?: unknown): Promise<T> {
  const token = readToken();
  if (token === null) {
    onSignedOut();
    throw new ApiError(401, 'not signed in');
  }
  const res = await send(method, path, token, body);
  if (res.status === 401) {
    forgetToken();
    onSignedOut();
  }
  return parse<T>(res);
}

/** Checks a pasted token before keeping it: the admin API must accept it. */
export async function checkToken(token: string): Promise<void> {
  await parse(await send('GET', '/v1/plans', token));
}

export const userPath = (userId: string, ...rest: string[]) =>
  ['/v1/users', userId, ...rest].map((p, i) => (i ? encodeURIComponent(p) : p)).join('/');

export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (HTTP ${err.status})`;
  return err instanceof Error ? err.message : String(err);
}
