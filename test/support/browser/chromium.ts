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
  return puppeteer.launch({
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
      '--renderer-process-limit=2',
    ],
    protocolTimeout: 30_000,
  });
}

/** Closes the browser; SIGKILLs its process if it does not close within a few seconds. */
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
  if (closed === 'timeout' && child && child.exitCode === null) child.kill('SIGKILL');
}
