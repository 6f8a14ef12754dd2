import { EffectivePlan } from '../plans/plan-registry';
import { PlanStatsView, StatsView } from './stats-api';
import { parseStatsField } from './stats-fields';
import { Bucket, BUCKET_SECONDS, WINDOW_SECONDS } from './stats-store';

interface PlanAccumulator {
  view: PlanStatsView;
  allow: number[];
  deny: number[];
}

/** Turns the window's buckets into the overview: totals and per-bucket series per plan. */
export function statsView(
  buckets: Bucket[],
  plans: EffectivePlan[],
  activeSlots: Map<string, number>,
  nowSeconds: number,
): StatsView {
  const n = buckets.length;
  const byPlan = new Map<string, PlanAccumulator>();
  for (const p of plans) {
    byPlan.set(p.name, {
      view: {
        plan: p.name,
        source: p.source,
        maxStreams: p.maxStreams,
        activeSlots: activeSlots.get(p.name) ?? null,
        decisions: {},
        denyRatio: null,
        degraded: 0,
        shadowDenials: 0,
        series: {
          activeSlots: new Array<number | null>(n).fill(null),
          maxStreams: new Array<number | null>(n).fill(null),
          perSecond: {},
          denyRatio: new Array<number | null>(n).fill(null),
        },
      },
      allow: new Array<number>(n).fill(0),
      deny: new Array<number>(n).fill(0),
    });
  }
  let degraded = 0;
  buckets.forEach((bucket, i) => {
    // The bucket still filling has lasted only this long so far.
    const seconds = Math.max(1, Math.min(BUCKET_SECONDS, nowSeconds - bucket.start));
    for (const [field, value] of Object.entries(bucket.fields)) {
      const parsed = parseStatsField(field);
      if (!parsed) continue;
      if (parsed.kind === 'degraded') {
        degraded += value;
        continue;
      }
      const acc = byPlan.get(parsed.plan);
      if (!acc) continue; // a plan removed since
      const { view } = acc;
      if (parsed.kind === 'activeSlots') view.series.activeSlots[i] = value;
      else if (parsed.kind === 'maxStreams') view.series.maxStreams[i] = value;
      else if (parsed.kind === 'shadow') view.shadowDenials += value;
      else {
        const { reason, decision } = parsed;
        view.decisions[reason] = (view.decisions[reason] ?? 0) + value;
        const rates = (view.series.perSecond[reason] ??= new Array<number>(n).fill(0));
        rates[i] += value / seconds;
        if (reason === 'degraded') view.degraded += value;
        if (decision === 'deny') acc.deny[i] += value;
        else if (reason !== 'released') acc.allow[i] += value;
      }
    }
  });
  for (const { view, allow, deny } of byPlan.values()) {
    let allowed = 0;
    let denied = 0;
    for (let i = 0; i < n; i++) {
      allowed += allow[i];
      denied += deny[i];
      const total = allow[i] + deny[i];
      view.series.denyRatio[i] = total ? deny[i] / total : null;
    }
    view.denyRatio = allowed + denied ? denied / (allowed + denied) : null;
  }
  return {
    generatedAt: new Date(nowSeconds * 1000).toISOString(),
    windowSeconds: WINDOW_SECONDS,
    bucketSeconds: BUCKET_SECONDS,
    timestamps: buckets.map((b) => b.start),
    degraded,
    plans: [...byPlan.values()].map((a) => a.view),
  };
}
