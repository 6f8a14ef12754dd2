import type { Readable } from 'node:stream';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Agent, request } from 'undici';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

export interface UpstreamAnswer {
  status: number;
  contentType?: string;
  /** Streamed as it arrives; the caller must consume or destroy it. */
  body: Readable;
}

/** The upstream did not answer: `timeout` becomes a 504, `unreachable` a 502. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: 'timeout' | 'unreachable',
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * The one owner of calls to upstream licence servers: a pooled keep-alive agent, one attempt
 * per licence message (a retried challenge may be refused as a replay), a deadline of
 * USHER_PROXY_UPSTREAM_TIMEOUT_MS for the answer's status line and headers and the same bound on
 * any pause in its body. Redirects are not followed (undici's default).
 */
@Injectable()
export class UpstreamClient implements OnApplicationShutdown {
  private readonly agent: Agent;
  private readonly timeoutMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.timeoutMs = config.proxy.upstreamTimeoutMs;
    this.agent = new Agent({
      connectTimeout: this.timeoutMs,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: 4000,
    });
  }

  async post(url: string, headers: Record<string, string>, body: Buffer): Promise<UpstreamAnswer> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.timeoutMs);
    try {
      const answer = await request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.agent,
        signal: deadline.signal,
      });
      const contentType = answer.headers['content-type'];
      return {
        status: answer.statusCode,
        contentType: Array.isArray(contentType) ? contentType[0] : contentType,
        body: answer.body,
      };
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (deadline.signal.aborted || TIMEOUT_CODES.has(code)) {
        throw new UpstreamError('timeout', `no answer within ${this.timeoutMs} ms`);
      }
      throw new UpstreamError('unreachable', code || (err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.close();
  }
}
