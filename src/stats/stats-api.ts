// GET /v1/stats as the console reads it (docs/console.md). Types only and no imports, so the
// console's bundle can share them with the server.

export interface PlanStatsView {
  plan: string;
  /** Where the plan comes from: the plans file or the admin API. */
  source: 'file' | 'api';
  maxStreams: number;
  /** Cluster-wide live slots now; null until the first count has been taken. */
  activeSlots: number | null;
  /** Answers in the window by reason. */
  decisions: Record<string, number>;
  /** Denials over allow and deny answers (releases left out) in the window; null without any. */
  denyRatio: number | null;
  degraded: number;
  shadowDenials: number;
  series: {
    activeSlots: (number | null)[];
    maxStreams: (number | null)[];
    /** Decisions per second by reason, one value per bucket. */
    perSecond: Record<string, number[]>;
    denyRatio: (number | null)[];
  };
}

export interface StatsView {
  generatedAt: string;
  windowSeconds: number;
  bucketSeconds: number;
  /** Bucket starts (Unix seconds), oldest first; the last bucket is still filling. */
  timestamps: number[];
  /** Degraded answers of every plan, 503s under USHER_FAIL_MODE=closed included. */
  degraded: number;
  plans: PlanStatsView[];
}
