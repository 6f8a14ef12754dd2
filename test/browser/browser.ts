import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { Browser, Page } from 'puppeteer-core';
import { ROOT } from '../support/console-build';

/** Debian's chromium (apt-get install chromium); no browser is downloaded. */
export const CHROMIUM = '/usr/lib/chromium/chromium';
export const SCREENSHOTS = join(ROOT, 'docs/images');

export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      // Nothing of the browser's own that would call out (updates, sync, safe browsing).
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
      '--no-default-browser-check',
      '--metrics-recording-only',
    ],
  });
}

/** An API answer the browser logs as a failed load although the page expects it. */
export interface ExpectedAnswer {
  status: number;
  path: RegExp;
}

/** What the page did that a test must see: errors, and every URL it requested. */
export interface PageWatch {
  errors: string[];
  requests: string[];
  /** Answers not counted as errors; tests add to it around what they provoke. */
  expected: ExpectedAnswer[];
}

/** By design: a user without override, an usher without device registrations. */
const EXPECTED_404 = { status: 404, path: /\/v1\/users\/[^/]+\/(override|devices)$/ };

/**
 * Watches a page: page errors, console errors (but the failed loads that `expected` lists) and
 * every network request. Requests to anything but `origin` are aborted, so none leaves the
 * machine.
 */
export async function watchPage(page: Page, origin: string): Promise<PageWatch> {
  const watch: PageWatch = { errors: [], requests: [], expected: [EXPECTED_404] };
  page.on('pageerror', (err) => watch.errors.push(`pageerror: ${String(err)}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const url = message.location().url ?? '';
    const status = Number(/status of (\d{3})/.exec(message.text())?.[1]);
    const path = url.startsWith(origin) ? url.slice(origin.length) : url;
    if (watch.expected.some((e) => e.status === status && e.path.test(path))) return;
    watch.errors.push(`console: ${message.text()} (${url})`);
  });
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    const url = req.url();
    // data: URLs (the browser's own date-picker icon) never touch a network.
    if (url.startsWith('data:')) return void req.continue();
    watch.requests.push(url);
    if (url.startsWith(`${origin}/`)) void req.continue();
    else void req.abort('blockedbyclient');
  });
  return watch;
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}

/** Whether the page scrolls sideways at its current viewport. */
export function scrollsSideways(page: Page): Promise<boolean> {
  return page.evaluate(
    'document.documentElement.scrollWidth > window.innerWidth',
  ) as Promise<boolean>;
}

/** Whether a canvas under `selector` has drawn anything (any non-transparent pixel). */
export function canvasDrawn(page: Page, selector: string): Promise<boolean> {
  return page.evaluate(`(() => {
    const canvas = document.querySelector(${JSON.stringify(selector)});
    if (!canvas || !canvas.width || !canvas.height) return false;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
    return false;
  })()`) as Promise<boolean>;
}

/** Sets an input's value as a user would, firing the input event the page listens to. */
export function setInput(page: Page, selector: string, value: string): Promise<void> {
  return page.evaluate(`(() => {
    const input = document.querySelector(${JSON.stringify(selector)});
    input.value = ${JSON.stringify(value)};
    input.dispatchEvent(new Event('input', { bubbles: true }));
  })()`) as Promise<void>;
}

export function textOf(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (el) => el.textContent ?? '');
}
