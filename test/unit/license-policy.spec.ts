import { licensePolicy } from '../../src/heartbeat/license-policy';

describe('licensePolicy', () => {
  it.each([
    { interval: 60, grace: 30, retry: 10 },
    { interval: 10, grace: 2, retry: 1 }, // ⌊2 ÷ 3⌋ = 0, but at least 1
    { interval: 300, grace: 0, retry: 0 }, // no grace, no retries
    { interval: 1, grace: 86400, retry: 28800 },
  ])(
    'streaming, interval $interval s and grace $grace s: renews every interval, lasts interval + grace, retries every $retry s',
    ({ interval, grace, retry }) => {
      expect(
        licensePolicy('streaming', { renewalIntervalSeconds: interval, graceSeconds: grace }),
      ).toEqual({
        canRenew: true,
        canPersist: false,
        licenseDurationSeconds: interval + grace,
        playbackDurationSeconds: 0,
        renewalDelaySeconds: interval,
        renewalRetryIntervalSeconds: retry,
        renewalRecoveryDurationSeconds: grace,
      });
    },
  );

  it('persistent: no renewal, downloadDays to start, downloadPlaybackHours once started', () => {
    expect(
      licensePolicy('persistent', {
        renewalIntervalSeconds: 60,
        graceSeconds: 30,
        downloadDays: 7,
        downloadPlaybackHours: 48,
      }),
    ).toEqual({
      canRenew: false,
      canPersist: true,
      licenseDurationSeconds: 7 * 86400,
      playbackDurationSeconds: 48 * 3600,
      renewalDelaySeconds: 0,
      renewalRetryIntervalSeconds: 0,
      renewalRecoveryDurationSeconds: 0,
    });
  });

  it('persistent on a plan without download fields: 30 days, 48 hours', () => {
    expect(
      licensePolicy('persistent', { renewalIntervalSeconds: 60, graceSeconds: 30 }),
    ).toMatchObject({ licenseDurationSeconds: 30 * 86400, playbackDurationSeconds: 48 * 3600 });
  });
});
