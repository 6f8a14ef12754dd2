import type { Browser, Page } from 'puppeteer-core';
import { DecisionRecorder } from '../../src/stats/decision-recorder';
import { ensureConsoleBuilt } from '../support/console-build';
import { startRedis, TestRedis } from '../support/redis-server';
import { ADMIN_TOKEN, catalog, LICENSE_TOKEN, plan, testConfig } from '../support/test-app';
import { heartbeat, startInstance, UsherInstance } from '../support/usher-http';
import {
  canvasDrawn,
  launchChromium,
  PageWatch,
  screenshot,
  scrollsSideways,
  setInput,
  textOf,
  watchPage,
} from './browser';
import { click, confirm, signIn, statusSays } from './console-page';

const PLANS = catalog(
  plan('basic', { maxStreams: 2 }),
  plan('premium', { maxStreams: 3 }),
  plan('family', { maxStreams: 4, countBy: 'device', onLimit: 'evict-oldest' }),
);
const USER = 'console-user';

describe('admin console in chromium', () => {
  let redis: TestRedis;
  let usher: UsherInstance;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;

  const open = async (hash = '') => {
    await page.goto(`${usher.baseUrl}/console${hash}`);
  };
  const admin = async (path: string) => {
    const res = await fetch(`${usher.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    return {
      status: res.status,
      body: (await res.json().catch(() => ({}))) as Record<string, unknown>,
    };
  };
  beforeAll(async () => {
    ensureConsoleBuilt();
    redis = await startRedis();
    usher = await startInstance(
      testConfig(redis.url, { plans: PLANS, activeSlotsIntervalMs: 1000 }),
    );
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    watch = await watchPage(page, usher.baseUrl);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await usher?.close();
    await redis?.stop();
  });

  it('keeps a wrong token on sign-in with a message, and keeps no token', async () => {
    watch.expected.push(
      { status: 401, path: /^\/v1\/plans$/ },
      { status: 403, path: /^\/v1\/plans$/ },
    );
    await open();
    await page.waitForSelector('#token');
    await screenshot(page, 'console-sign-in');
    await signIn(page, 'not-a-token');
    await page.waitForSelector('#signin-error');
    expect(await textOf(page, '#signin-error')).toContain('not known');
    await setInput(page, '#token', '');
    await signIn(page, LICENSE_TOKEN);
    await page.waitForFunction(
      "document.querySelector('#signin-error')?.textContent.includes('not an admin token')",
    );
    expect(await page.$('#token')).not.toBeNull();
    expect(await page.evaluate('sessionStorage.length + localStorage.length')).toBe(0);
    watch.expected.splice(1);
  });

  it('signs in; the overview shows every plan and draws its charts', async () => {
    for (const sessionId of ['p1', 'p2', 'p3', 'p4']) {
      await heartbeat(usher, { userId: 'traffic', sessionId, plan: 'premium' });
    }
    await heartbeat(usher, { userId: 'traffic-2', sessionId: 'b1' });
    await usher.app.get(DecisionRecorder).flush();
    await setInput(page, '#token', '');
    await signIn(page, ADMIN_TOKEN);
    await page.waitForSelector('article.card');
    for (const p of PLANS.plans) {
      expect(await page.$(`article[data-plan="${p.name}"]`)).not.toBeNull();
      expect(await textOf(page, `article[data-plan="${p.name}"] [data-figure="limit"]`)).toBe(
        String(p.maxStreams),
      );
    }
    await page.waitForFunction(
      `document.querySelectorAll('article[data-plan="premium"] canvas').length >= 2`,
    );
    expect(await canvasDrawn(page, 'article[data-plan="premium"] canvas')).toBe(true);
    // The cluster-wide count (usher_active_slots, a periodic job) reaches the overview.
    await page.waitForFunction(
      `document.querySelector('article[data-plan="premium"] [data-figure="slots"]').textContent === '3'`,
      { timeout: 30_000 },
    );
    // A renewal, one more flush and one refresh (every 5 s): the slots chart has them too.
    await heartbeat(usher, {
      userId: 'traffic',
      sessionId: 'p1',
      plan: 'premium',
      messageType: 'license-renewal',
    });
    await usher.app.get(DecisionRecorder).flush();
    await new Promise((resolve) => setTimeout(resolve, 5500));
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await page.evaluate('sessionStorage.length')).toBe(1);
    expect(page.url()).not.toContain(ADMIN_TOKEN);
    await screenshot(page, 'console-overview');
  }, 60_000);

  it("changes a plan's maxStreams; the heartbeat API enforces the new limit", async () => {
    await open('#/plans');
    await click(page, '[data-edit="premium"]');
    await page.waitForSelector('#plan-maxStreams');
    await setInput(page, '#plan-maxStreams', '1');
    await click(page, 'form.editor button[type=submit]');
    await confirm(page, 'maxStreams: 3 → 1', 'console-plan-confirm');
    await statusSays(page, 'Plan premium saved.');
    await page.waitForFunction(
      `document.querySelector('[data-plan="premium"] [data-col="maxStreams"]').textContent === '1'`,
    );
    const first = await heartbeat(usher, { userId: 'limited', sessionId: 'one', plan: 'premium' });
    const second = await heartbeat(usher, { userId: 'limited', sessionId: 'two', plan: 'premium' });
    expect(first.body).toMatchObject({ reason: 'admitted', maxStreams: 1 });
    expect(second.body).toMatchObject({ decision: 'deny', reason: 'limit_exceeded' });
  });

  it("shows the API's problem next to a bad value, and changes nothing", async () => {
    watch.expected.push({ status: 400, path: /^\/v1\/plans\/premium$/ });
    await click(page, '[data-edit="premium"]');
    await page.waitForSelector('#plan-maxStreams');
    await setInput(page, '#plan-maxStreams', '500');
    await click(page, 'form.editor button[type=submit]');
    await confirm(page, 'maxStreams: 1 → 500');
    const problem = '[data-field="maxStreams"] .problem';
    await page.waitForSelector(problem);
    expect(await textOf(page, problem)).toContain('maxStreams: must be an integer from 0 to 100');
    expect(await page.$eval('#plan-maxStreams', (el) => el.getAttribute('aria-invalid'))).toBe(
      'true',
    );
    expect((await admin('/v1/plans/premium')).body.maxStreams).toBe(1);
    await screenshot(page, 'console-plans');
    // Escape closes a confirmation without doing anything.
    await click(page, 'form.editor button[type=submit]');
    await page.waitForSelector('dialog[open]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { hidden: true });
    expect((await admin('/v1/plans/premium')).body.maxStreams).toBe(1);
  });

  it('looks a user up and terminates one session; its next heartbeat is session_revoked', async () => {
    for (const sessionId of ['s-a', 's-b']) {
      const res = await heartbeat(usher, { userId: USER, sessionId, deviceId: `tv-${sessionId}` });
      expect(res.body.reason).toBe('admitted');
    }
    await open('#/users');
    await page.waitForSelector('#user-id');
    await setInput(page, '#user-id', USER);
    await click(page, 'form.lookup button[type=submit]');
    await page.waitForSelector('tr[data-session="s-b"]');
    expect(await textOf(page, '[data-figure="slots"]')).toBe('2 / 2');
    await click(page, '[data-end="s-a"]');
    await confirm(page, 'Session s-a');
    await page.waitForSelector('tr[data-session="s-a"]', { hidden: true });
    const revoked = await heartbeat(usher, {
      userId: USER,
      sessionId: 's-a',
      deviceId: 'tv-s-a',
      messageType: 'license-renewal',
    });
    expect(revoked.body).toMatchObject({ decision: 'deny', reason: 'session_revoked' });
    const kept = await heartbeat(usher, {
      userId: USER,
      sessionId: 's-b',
      deviceId: 'tv-s-b',
      messageType: 'license-renewal',
    });
    expect(kept.body.reason).toBe('renewed');
  });

  it('sets an override with an expiry, then removes it', async () => {
    await setInput(page, '#override-maxStreams', '3');
    await setInput(page, '#override-expires', '2030-01-31T18:00');
    const expiresAt = (await page.evaluate("new Date('2030-01-31T18:00').toISOString()")) as string;
    await click(page, '[aria-labelledby="override-title"] button[type=submit]');
    await confirm(page, /maxStreams: not set → 3[\s\S]*Applies until/);
    await statusSays(page, 'saved');
    expect((await admin(`/v1/users/${USER}/override`)).body).toMatchObject({
      maxStreams: 3,
      expiresAt,
    });
    expect(await textOf(page, '[data-override-state]')).toContain(expiresAt);
    expect(await textOf(page, '[data-figure="slots"]')).toBe('1 / 3');
    await screenshot(page, 'console-user');
    await click(page, '[data-remove-override]');
    await confirm(page, 'Remove the override');
    await statusSays(page, 'removed');
    expect((await admin(`/v1/users/${USER}/override`)).status).toBe(404);
    expect(await textOf(page, '[data-override-state]')).toContain('None');
  });

  it('creates a plan with its source api, then deletes it', async () => {
    await open('#/plans');
    await click(page, 'button.primary');
    await page.waitForSelector('#plan-name');
    await setInput(page, '#plan-name', 'trial');
    await setInput(page, '#plan-maxStreams', '2');
    await page.select('#plan-onLimit', 'evict-oldest');
    await click(page, 'form.editor button[type=submit]');
    await confirm(page, /Create plan "trial"[\s\S]*maxStreams: 2[\s\S]*onLimit: evict-oldest/);
    await statusSays(page, 'Plan trial saved.');
    expect(await textOf(page, 'tr[data-plan="trial"] .badge.api')).toBe('api');
    expect((await admin('/v1/plans/trial')).body).toMatchObject({
      maxStreams: 2,
      onLimit: 'evict-oldest',
      countBy: 'session',
      source: 'api',
    });
    await click(page, '[data-delete="trial"]');
    await confirm(page, 'The API version of "trial" is removed.');
    await page.waitForSelector('tr[data-plan="trial"]', { hidden: true });
    expect((await admin('/v1/plans/trial')).status).toBe(404);
  });

  it('returns to sign-in when the API answers 401', async () => {
    await open(`#/users/${USER}`);
    await page.waitForSelector('tr[data-session="s-b"]');
    watch.expected.push({ status: 401, path: /^\/v1\// });
    await page.evaluate("sessionStorage.setItem('usher.adminToken', 'revoked-token')");
    await click(page, 'form.lookup button[type=button]');
    await page.waitForSelector('#token');
    expect(await textOf(page, '.notice')).toContain('401');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await signIn(page, ADMIN_TOKEN);
    await page.waitForSelector('tr[data-session="s-b"]');
    // By now the browser has logged every 401 of the screen's calls.
    watch.expected.pop();
  });

  it('renders every screen at 1280×800 and 390×844 without horizontal scroll', async () => {
    for (const [width, height] of [
      [1280, 800],
      [390, 844],
    ]) {
      await page.setViewport({ width, height });
      const suffix = width < 500 ? '-mobile' : '';
      await open('#/overview');
      await page.waitForSelector('article.card canvas');
      expect(await scrollsSideways(page)).toBe(false);
      if (suffix) await screenshot(page, `console-overview${suffix}`);
      await open('#/plans');
      await click(page, '[data-edit="family"]');
      await page.waitForSelector('#plan-maxStreams');
      expect(await scrollsSideways(page)).toBe(false);
      await open(`#/users/${USER}`);
      await page.waitForSelector('tr[data-session="s-b"]');
      expect(await scrollsSideways(page)).toBe(false);
      if (suffix) await screenshot(page, `console-user${suffix}`);
    }
  }, 60_000);

  it('raised no page error, sent no request off loopback, and never put the token in a URL', () => {
    expect(watch.errors).toEqual([]);
    expect(watch.requests.length).toBeGreaterThan(10);
    for (const url of watch.requests) {
      expect(url).toMatch(new RegExp(`^${usher.baseUrl}/`));
      expect(url).not.toContain(ADMIN_TOKEN);
    }
  });
});
