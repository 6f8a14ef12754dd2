// Percentiles of latency samples, and the median the bench reports a figure of rounds by.

/** The p-th percentile of an ascending array (nearest rank); NaN when it is empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

/** { p50, p90, p99, p999, max } of the first `count` samples (a Float64Array, sorted in place). */
export function summarize(samples, count) {
  const sorted = samples.subarray(0, count).sort();
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

/** The middle value (the upper one of an even count): always one of the rounds' own figures. */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
