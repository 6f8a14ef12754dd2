import { Browser, HTTPRequest, Page } from 'puppeteer-core';
import { pollUntil } from '../child-process';

/** What the page's player is asked to do (see harness-page.js). */
export interface PlayerSetup {
  manifestUrl: string;
  licenseUrl: string;
  /** Added to every licence request (e.g. Authorization). */
  headers?: Record<string, string>;
}

/** A Shaka error as the page describes it; `cause` is the error it wraps (e.g. the HTTP one). */
export interface ShakaError {
  code: number;
  severity?: number;
  category?: number;
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  message?: string;
  cause?: ShakaError;
}

export interface PlayerState {
  framesDecoded: number;
  currentTime: number;
  mediaError: number | null;
  keyStatuses: Record<string, string>;
  errors: ShakaError[];
  /** The CDM's licence messages as the player sent them (base64), in order. */
  challenges: string[];
  /** Licence answers that reached the player, with the headers it could read. */
  licences: Array<{ status: number; headers: Record<string, string> }>;
}

interface Harness {
  load(setup: PlayerSetup): Promise<void>;
  state(): PlayerState;
  retryLicensing(): Promise<boolean[]>;
  destroy(): Promise<void>;
}

/**
 * The page's global scope. Functions given to page.evaluate are sent as source text and run in
 * the page, so they reach the harness through globalThis and may not use anything of this module.
 */
type InPage = { harness: Harness };

function isLoopback(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:') return true;
  return (protocol === 'http:' || protocol === 'https:') && hostname === '127.0.0.1';
}

/** One browser tab playing the clip with Shaka Player, recording every request it makes. */
export class PlayerPage {
  /** Every URL the page requested. */
  readonly requests: string[] = [];

  private constructor(private readonly page: Page) {
    page.on('request', (request: HTTPRequest) => this.requests.push(request.url()));
  }

  static async open(browser: Browser, pageUrl: string): Promise<PlayerPage> {
    const page = await browser.newPage();
    const player = new PlayerPage(page);
    await page.goto(pageUrl, { waitUntil: 'load', timeout: 15_000 });
    return player;
  }

  /** Requests that went anywhere but loopback (expected: none). */
  offLoopback(): string[] {
    return this.requests.filter((url) => !isLoopback(url));
  }

  load(setup: PlayerSetup): Promise<void> {
    return this.page.evaluate((s) => (globalThis as unknown as InPage).harness.load(s), setup);
  }

  state(): Promise<PlayerState> {
    return this.page.evaluate(() => (globalThis as unknown as InPage).harness.state());
  }

  retryLicensing(): Promise<boolean[]> {
    return this.page.evaluate(() => (globalThis as unknown as InPage).harness.retryLicensing());
  }

  /** Waits until the state satisfies `ok`; the error names `what` and the last state. */
  async waitFor(
    what: string,
    ok: (state: PlayerState) => boolean,
    timeoutMs = 15_000,
  ): Promise<PlayerState> {
    let last: PlayerState | undefined;
    try {
      await pollUntil(what, async () => ok((last = await this.state())), timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; last state ${JSON.stringify(last)}`);
    }
    return last as PlayerState;
  }

  async close(): Promise<void> {
    await this.page
      .evaluate(() => (globalThis as unknown as InPage).harness.destroy())
      .catch(() => undefined);
    await this.page.close().catch(() => undefined);
  }
}
