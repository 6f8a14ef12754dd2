/** The DRM systems usher knows: every heartbeat, session and licence route names one. */
export const DRMS = ['widevine', 'playready', 'fairplay', 'clearkey'] as const;
export type Drm = (typeof DRMS)[number];
