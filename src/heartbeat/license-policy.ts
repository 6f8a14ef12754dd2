import { DOWNLOAD_DEFAULTS, PlanPolicy } from '../config/plan';

export const LICENSE_TYPES = ['streaming', 'persistent'] as const;
export type LicenseType = (typeof LICENSE_TYPES)[number];

/**
 * The policy to put into the licence an allow answer lets the licence server issue, named after
 * Widevine's policy fields; README "Licence policy" maps them onto PlayReady, FairPlay and
 * ClearKey.
 */
export interface LicensePolicy {
  canRenew: boolean;
  canPersist: boolean;
  licenseDurationSeconds: number;
  playbackDurationSeconds: number;
  renewalDelaySeconds: number;
  renewalRetryIntervalSeconds: number;
  renewalRecoveryDurationSeconds: number;
}

type Timing = Pick<PlanPolicy, 'renewalIntervalSeconds' | 'graceSeconds'> &
  Pick<PlanPolicy, 'downloadDays' | 'downloadPlaybackHours'>;

/**
 * Streaming: renew every interval, the licence outlives it by the grace, three retries fit in
 * the grace, playback unlimited by the licence itself. Persistent: no renewal, stored on the
 * device for downloadDays, playable for downloadPlaybackHours once playback starts.
 */
export function licensePolicy(type: LicenseType, plan: Timing): LicensePolicy {
  if (type === 'persistent') {
    const days = plan.downloadDays ?? DOWNLOAD_DEFAULTS.downloadDays;
    const hours = plan.downloadPlaybackHours ?? DOWNLOAD_DEFAULTS.downloadPlaybackHours;
    return {
      canRenew: false,
      canPersist: true,
      licenseDurationSeconds: days * 86400,
      playbackDurationSeconds: hours * 3600,
      renewalDelaySeconds: 0,
      renewalRetryIntervalSeconds: 0,
      renewalRecoveryDurationSeconds: 0,
    };
  }
  const grace = plan.graceSeconds;
  return {
    canRenew: true,
    canPersist: false,
    licenseDurationSeconds: plan.renewalIntervalSeconds + grace,
    playbackDurationSeconds: 0,
    renewalDelaySeconds: plan.renewalIntervalSeconds,
    renewalRetryIntervalSeconds: grace === 0 ? 0 : Math.max(1, Math.floor(grace / 3)),
    renewalRecoveryDurationSeconds: grace,
  };
}
