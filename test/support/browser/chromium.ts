import { existsSync } from 'node:fs';
import puppeteer, { Browser } from 'puppeteer-core';

/** Debian's chromium (apt package `chromium`); USHER_CHROMIUM points elsewhere if needed. */
export const CHROMIUM = process.env.USHER_CHROMIUM ?? '/usr/lib/chromium/chromium';

/**
 * Headless Chromium for the browser tests. The host resolver maps every name except loopback to
 * nothing, so no request can leave the machine even if a page or the browser tried.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install the chromium package (or set USHER_CHROMIUM)`,
    );
  }
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--autoplay-policy=no-user-gesture-required',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-extensions',
      '--disable-sync',
      '--no-first-run',
      '--mute-audio',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      // Keep the renderer count down (memory): a soft limit of one, and no spare renderer.
      '--renderer-process-limit=1',
      '--disable-features=SpareRendererForSitePerProcess',
    ],
    protocolTimeout: 30_000,
  });
  // The blank first tab would hold a renderer of its own; headless Chromium runs on without tabs.
  await Promise.all((await browser.pages()).map((page) => page.close()));
  return browser;
}

/**
 * Closes the browser. If it does not close within a few seconds, SIGKILLs its process group:
 * puppeteer starts Chromium detached, so that group holds only the processes this test started.
 */
export async function closeChromium(browser: Browser | undefined): Promise<void> {
  if (!browser) return;
  const child = browser.process();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), 5000);
  });
  const closed = await Promise.race([browser.close().then(() => 'closed' as const), timeout]).catch(
    () => 'timeout' as const,
  );
  clearTimeout(timer);
  if (closed === 'timeout' && child?.pid !== undefined && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
}
