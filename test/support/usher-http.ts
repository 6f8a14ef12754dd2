import { performance } from 'node:perf_hooks';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../../src/config/app-config';
import { LICENSE_TOKEN, startApp } from './test-app';

/** A real usher instance listening on 127.0.0.1:<free port>, talked to over HTTP. */
export interface UsherInstance {
  app: NestFastifyApplication;
  baseUrl: string;
  close(): Promise<void>;
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  /** Time from sending the request to the whole answer, measured per request. */
  ms: number;
}

export interface HeartbeatBody {
  userId: string;
  sessionId: string;
  messageType?: 'license-request' | 'license-renewal' | 'license-release';
  drm?: 'widevine' | 'playready' | 'fairplay' | 'clearkey';
  deviceId?: string;
  plan?: string;
}

export interface HeartbeatAnswer {
  decision?: 'allow' | 'deny';
  reason?: string;
  activeStreams?: number;
}

export async function startInstance(config: AppConfig): Promise<UsherInstance> {
  const app = await startApp(config);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, baseUrl: `http://127.0.0.1:${port}`, close: () => app.close() };
}

async function call<T>(url: string, init: RequestInit): Promise<Answer<T>> {
  const started = performance.now();
  const res = await fetch(url, init);
  const text = await res.text();
  const ms = performance.now() - started;
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, ms };
}

export function heartbeat(
  instance: UsherInstance,
  body: HeartbeatBody,
): Promise<Answer<HeartbeatAnswer>> {
  return call(`${instance.baseUrl}/v1/heartbeats`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${LICENSE_TOKEN}` },
    body: JSON.stringify({ drm: 'widevine', messageType: 'license-request', ...body }),
  });
}

export function readiness(
  instance: UsherInstance,
): Promise<Answer<{ status?: string; store?: string }>> {
  return call(`${instance.baseUrl}/health/ready`, { method: 'GET' });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh user id per round or test, so that rounds never share state. */
export const freshUser = (label: string) =>
  `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
