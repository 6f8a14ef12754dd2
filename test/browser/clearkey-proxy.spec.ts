import { Browser } from 'puppeteer-core';
import { closeChromium, launchChromium } from '../support/browser/chromium';
import { base64url, ClearKeyServer, startClearKeyServer } from '../support/browser/clearkey-server';
import { PageServer, startPageServer } from '../support/browser/page-server';
import { PlayerPage, PlayerState, ShakaError } from '../support/browser/player-page';
import { ClearKeyClip, makeClearKeyClip } from '../support/cenc/clearkey-clip';
import { pollUntil } from '../support/child-process';
import { PLAYER_JWT_SECRET, playerToken } from '../support/player-token';
import { startRedis, TestRedis } from '../support/redis-server';
import { ADMIN_TOKEN, catalog, plan, testConfig } from '../support/test-app';
import { freshUser, startInstance, UsherInstance } from '../support/usher-http';

/** Shaka's DRM/LICENSE_REQUEST_FAILED: the licence server answered with an error. */
const LICENSE_REQUEST_FAILED = 6007;

jest.setTimeout(90_000);

/**
 * A real browser CDM through usher's licence proxy: Chromium's ClearKey CDM, driven by Shaka
 * Player on a page of another loopback origin, sends its licence requests to
 * POST /v1/licenses/clearkey; usher decides and forwards them to a ClearKey licence server.
 */
describe('Chromium ClearKey CDM through the licence proxy', () => {
  let clip: ClearKeyClip;
  let site: PageServer;
  let upstream: ClearKeyServer;
  let redis: TestRedis;
  let usher: UsherInstance;
  let browser: Browser | undefined;
  const opened: PlayerPage[] = [];

  beforeAll(async () => {
    clip = await makeClearKeyClip();
    site = await startPageServer(clip.dir);
    upstream = await startClearKeyServer(new Map([[base64url(clip.kid), base64url(clip.key)]]));
    redis = await startRedis();
    // One stream; a licence that is not renewed lapses after 3 + 3 s.
    const plans = catalog(
      plan('basic', { maxStreams: 1, renewalIntervalSeconds: 3, graceSeconds: 3 }),
    );
    // A store timeout far above the default: Chromium decoding video on a busy two-core runner
    // must not turn a decision into a `degraded` one.
    usher = await startInstance(
      testConfig(
        redis.url,
        { plans, storeTimeoutMs: 2000 },
        {
          USHER_PROXY_UPSTREAM_CLEARKEY: upstream.url,
          USHER_PROXY_JWT_SECRET: PLAYER_JWT_SECRET,
          USHER_PROXY_CORS_ORIGINS: site.origin,
        },
      ),
    );
    browser = await launchChromium();
  });

  afterAll(async () => {
    await Promise.all(opened.map((p) => p.close()));
    await closeChromium(browser);
    await usher?.close();
    await redis?.stop();
    await upstream?.close();
    await site?.close();
    clip?.remove();
  });

  const openPlayer = async () => {
    const page = await PlayerPage.open(browser as Browser, site.pageUrl);
    opened.push(page);
    return page;
  };

  const sessionsOf = async (userId: string) => {
    const res = await fetch(`${usher.baseUrl}/v1/users/${userId}/sessions`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { activeStreams: number; sessions: Array<{ sessionId: string }> };
  };

  const reasons = (state: PlayerState) => state.licences.map((l) => l.headers['x-usher-reason']);
  const licenceFailure = (state: PlayerState): ShakaError | undefined =>
    state.errors.find((e) => e.code === LICENSE_REQUEST_FAILED);

  it('plays, renews, refuses a second player over the limit, then plays it once the first lapses', async () => {
    const userId = freshUser('cdm');
    const licenseUrl = `${usher.baseUrl}/v1/licenses/clearkey`;

    // Player 1: device and playback id in its token.
    const token1 = await playerToken({
      sub: userId,
      deviceId: 'tv-1',
      sessionId: 'play-1',
    });
    const player1 = await openPlayer();
    await player1.load({
      manifestUrl: site.manifestUrl,
      licenseUrl,
      headers: { Authorization: `Bearer ${token1}` },
    });
    const playing = await player1.waitFor(
      'player 1 decoding frames',
      (s) => s.framesDecoded > 0 || s.errors.length > 0,
    );
    expect(playing.errors).toEqual([]);
    expect(playing.framesDecoded).toBeGreaterThan(0);
    expect(reasons(playing)).toEqual(['admitted']);
    expect(playing.licences[0].headers).toMatchObject({
      'x-usher-decision': 'allow',
      'x-usher-session-id': 'play-1',
    });
    // The upstream got the CDM's message byte for byte, and not the player's token.
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0].body.toString('base64')).toBe(playing.challenges[0]);
    expect(upstream.requests[0].kids).toEqual([base64url(clip.kid)]);
    expect(upstream.requests[0].headers.authorization).toBeUndefined();
    expect((await sessionsOf(userId)).sessions.map((s) => s.sessionId)).toEqual(['play-1']);

    // Chromium's ClearKey CDM never sends license-renewal: re-licensing is the renewal.
    expect(await player1.retryLicensing()).toEqual([true]);
    const renewed = await player1.waitFor(
      'a second licence for player 1',
      (s) => s.licences.length > 1,
    );
    expect(reasons(renewed)).toEqual(['admitted', 'renewed']);
    expect(upstream.requests).toHaveLength(2);
    expect((await sessionsOf(userId)).activeStreams).toBe(1);
    // The renewed licence's key decrypts: player 1 goes on decoding.
    const goingOn = await player1.waitFor(
      'player 1 decoding after the renewal',
      (s) => s.framesDecoded > renewed.framesDecoded + 10 || s.errors.length > 0,
    );
    expect(goingOn.errors).toEqual([]);

    // Player 2 of the same user on another device: its ids come in the X-Usher-* headers.
    const token2 = await playerToken({ sub: userId });
    const player2 = await openPlayer();
    await player2.load({
      manifestUrl: site.manifestUrl,
      licenseUrl,
      headers: {
        Authorization: `Bearer ${token2}`,
        'X-Usher-Device-Id': 'phone-2',
        'X-Usher-Session-Id': 'play-2',
      },
    });
    const refused = await player2.waitFor('player 2 refused a licence', (s) => s.errors.length > 0);
    const failure = licenceFailure(refused);
    expect(failure?.cause).toMatchObject({ status: 403 });
    expect(failure?.cause?.headers?.['x-usher-reason']).toBe('limit_exceeded');
    expect(JSON.parse(failure?.cause?.body ?? '{}')).toMatchObject({
      reason: 'limit_exceeded',
      conflicts: [expect.objectContaining({ sessionId: 'play-1', deviceId: 'tv-1' })],
    });
    expect(upstream.requests).toHaveLength(2);

    // Player 1 stops (its temporary ClearKey session sends no release): its slot lapses.
    await player1.close();
    await pollUntil(
      'player 1 lapsed',
      async () => (await sessionsOf(userId)).activeStreams === 0,
      10_000,
    );
    // Seconds after its refusal, player 2 has still decoded nothing.
    expect((await player2.state()).framesDecoded).toBe(0);
    const errorsBefore = refused.errors.length;
    expect(await player2.retryLicensing()).toEqual([true]);
    const second = await player2.waitFor(
      'player 2 decoding frames',
      (s) => s.framesDecoded > 0 || s.errors.length > errorsBefore,
    );
    expect(second.errors.slice(errorsBefore)).toEqual([]);
    expect(second.framesDecoded).toBeGreaterThan(0);
    expect(reasons(second)).toEqual(['admitted']);
    expect(upstream.requests).toHaveLength(3);
    expect((await sessionsOf(userId)).sessions.map((s) => s.sessionId)).toEqual(['play-2']);

    expect(player2.requests.filter((url) => url === licenseUrl)).toHaveLength(2);
    expect([...player1.offLoopback(), ...player2.offLoopback()]).toEqual([]);
  });
});
