import type { Page } from 'puppeteer-core';
import { screenshot, textOf } from './browser';

/** What a user does on the console's pages, as the browser tests do it. */

export async function click(page: Page, selector: string): Promise<void> {
  await page.waitForSelector(selector);
  await page.click(selector);
}

/** Types the token into the sign-in form and presses Enter, by keyboard only. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.waitForSelector('#token');
  await page.focus('#token');
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
}

/** Waits for the confirmation, checks it states `change`, and confirms. */
export async function confirm(
  page: Page,
  change: string | RegExp,
  screenshotName?: string,
): Promise<void> {
  await page.waitForSelector('dialog[open] [data-confirm]');
  const text = await textOf(page, 'dialog[open]');
  if (typeof change === 'string') expect(text).toContain(change);
  else expect(text).toMatch(change);
  if (screenshotName) await screenshot(page, screenshotName, false);
  await page.click('dialog[open] [data-confirm]');
  await page.waitForSelector('dialog[open]', { hidden: true });
}

/** Waits until a status line of the screen says `text`. */
export async function statusSays(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    `[...document.querySelectorAll('[role=status]')].some((s) => s.textContent.includes(${JSON.stringify(text)}))`,
  );
}
