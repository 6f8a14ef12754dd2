import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { ADMIN_TOKEN, LICENSE_TOKEN } from '../support/test-app';

/** Helpers shared by the admin e2e suites (test/e2e/admin-*.spec.ts). */

export const ADMIN_FINGERPRINT = createHash('sha256')
  .update(ADMIN_TOKEN)
  .digest('hex')
  .slice(0, 12);

type Method = 'get' | 'put' | 'delete' | 'post';

/** An admin API call with the admin token (or the given one, or none with token null). */
export function adminCall(
  app: NestFastifyApplication,
  method: Method,
  path: string,
  body?: unknown,
  token: string | null = ADMIN_TOKEN,
): request.Test {
  let call = request(app.getHttpServer())[method](path);
  if (token !== null) call = call.set('authorization', `Bearer ${token}`);
  return body === undefined ? call : call.send(body as object);
}

export interface HeartbeatFields {
  userId: string;
  sessionId?: string;
  deviceId?: string;
  contentId?: string;
  drm?: string;
  messageType?: string;
  plan?: string;
  licenseType?: string;
  takeoverSessionId?: string;
}

export function heartbeat(app: NestFastifyApplication, fields: HeartbeatFields): request.Test {
  return request(app.getHttpServer())
    .post('/v1/heartbeats')
    .set('authorization', `Bearer ${LICENSE_TOKEN}`)
    .send({ drm: 'widevine', messageType: 'license-request', ...fields });
}

/**
 * Polls `probe` until it returns true or the deadline passes; returns whether it converged.
 * Propagation tests assert convergence within the contract's 2 s, never a speed.
 */
export async function eventually(
  probe: () => Promise<boolean>,
  deadlineMs: number,
  everyMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Collects the JSON log lines with context "Audit" written while `run` runs. */
export async function auditLines(run: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
    // Creating an app makes its logger Nest's static one; return to the tests' level (error).
    Logger.overrideLogger(['fatal', 'error']);
  }
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"Audit"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.context === 'Audit');
}
