import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser } from 'puppeteer-core';
import { closeChromium, launchChromium } from '../support/browser/chromium';
import { base64url, ClearKeyServer, startClearKeyServer } from '../support/browser/clearkey-server';
import { PageServer, startPageServer } from '../support/browser/page-server';
import { PlayerPage } from '../support/browser/player-page';
import { ClearKeyClip, makeClearKeyClip } from '../support/cenc/clearkey-clip';
import { frameHashes } from '../support/cenc/ffmpeg-frames';

/** Shaka's MEDIA/VIDEO_ERROR: the media element failed to decode. */
const VIDEO_ERROR = 3016;

jest.setTimeout(60_000);

/**
 * Checks the harness of the browser end-to-end test on its own, without usher: the clip the
 * harness encrypts is valid CENC, and Chromium's ClearKey CDM plays it with the right key only.
 */
describe('ClearKey browser harness, without usher', () => {
  let clip: ClearKeyClip;
  let site: PageServer;
  let upstream: ClearKeyServer;
  let browser: Browser | undefined;
  const opened: PlayerPage[] = [];
  const rightKeys = () => new Map([[base64url(clip.kid), base64url(clip.key)]]);

  beforeAll(async () => {
    clip = await makeClearKeyClip();
    site = await startPageServer(clip.dir);
    upstream = await startClearKeyServer(rightKeys());
    browser = await launchChromium();
  });

  afterAll(async () => {
    await Promise.all(opened.map((p) => p.close()));
    await closeChromium(browser);
    await upstream?.close();
    await site?.close();
    clip?.remove();
  });

  const openPlayer = async () => {
    const page = await PlayerPage.open(browser as Browser, site.pageUrl);
    opened.push(page);
    return page;
  };

  it('ffmpeg decrypts every encrypted fragment to exactly the frames of the clear clip', async () => {
    const decrypted: string[] = [];
    for (let i = 1; i <= clip.segments; i++) {
      // One fragment at a time: ffmpeg 5.1 mismatches sample info across fragments of one file.
      const file = join(clip.dir, `check-${i}.mp4`);
      writeFileSync(
        file,
        Buffer.concat([
          readFileSync(join(clip.dir, 'init.mp4')),
          readFileSync(join(clip.dir, `seg-${i}.m4s`)),
        ]),
      );
      decrypted.push(...(await frameHashes(file, clip.key.toString('hex'))));
    }
    const clear = await frameHashes(clip.clearFile);
    expect(clear).toHaveLength(clip.durationSeconds * 25);
    expect(decrypted).toEqual(clear);
  });

  it('Shaka Player pointed straight at the ClearKey server plays the clip', async () => {
    upstream.setKeys(rightKeys());
    const before = upstream.requests.length;
    const player = await openPlayer();
    await player.load({ manifestUrl: site.manifestUrl, licenseUrl: upstream.url });
    // Frames from every fragment: the last one starts at frame 76 of 100.
    const state = await player.waitFor(
      'frames from every fragment',
      (s) => s.framesDecoded > 80 || s.errors.length > 0,
    );
    expect(state.errors).toEqual([]);
    expect(state.framesDecoded).toBeGreaterThan(80);
    expect(Object.values(state.keyStatuses)).toEqual(['usable']);
    const asked = upstream.requests.slice(before);
    expect(asked).toHaveLength(1);
    expect(asked[0].kids).toEqual([base64url(clip.kid)]);
    expect(JSON.parse(asked[0].body.toString())).toMatchObject({ type: 'temporary' });
    expect(player.offLoopback()).toEqual([]);
  });

  it('with a wrong key the CDM decodes nothing and the player reports a decode error', async () => {
    upstream.setKeys(new Map([[base64url(clip.kid), base64url(randomBytes(16))]]));
    const player = await openPlayer();
    await player.load({ manifestUrl: site.manifestUrl, licenseUrl: upstream.url });
    const state = await player.waitFor('an error', (s) => s.errors.length > 0);
    expect(state.errors.map((e) => e.code)).toContain(VIDEO_ERROR);
    expect(state.framesDecoded).toBe(0);
    expect(player.offLoopback()).toEqual([]);
  });
});
