type Level<T> = Map<string, T>;

export interface HeartbeatCell {
  labels: Record<'decision' | 'reason' | 'drm' | 'message_type' | 'plan', string>;
  count: number;
}

/** The entry of `key` in `map`, made on first use. */
function child<T>(map: Level<T>, key: string, make: () => T): T {
  let entry = map.get(key);
  if (entry === undefined) map.set(key, (entry = make()));
  return entry;
}

/**
 * usher_heartbeats_total's counts by label values, found through one Map per label: no label
 * hashing and no allocation per heartbeat (prom-client's inc() hashes a labels object each call).
 * The counter copies them in when it is scraped. Label values are bounded (docs/metrics.md), so are the
 * maps.
 */
export class HeartbeatCounts {
  private readonly byDecision: Level<Level<Level<Level<Level<HeartbeatCell>>>>> = new Map();

  count(decision: string, reason: string, drm: string, messageType: string, plan: string): void {
    const cell = this.byDecision.get(decision)?.get(reason)?.get(drm)?.get(messageType)?.get(plan);
    if (cell) cell.count++;
    else this.add(decision, reason, drm, messageType, plan);
  }

  *cells(): Iterable<HeartbeatCell> {
    for (const byReason of this.byDecision.values())
      for (const byDrm of byReason.values())
        for (const byMessageType of byDrm.values())
          for (const byPlan of byMessageType.values()) yield* byPlan.values();
  }

  private add(decision: string, reason: string, drm: string, messageType: string, plan: string) {
    const byReason = child(this.byDecision, decision, () => new Map());
    const byDrm = child(byReason, reason, () => new Map());
    const byMessageType = child(byDrm, drm, () => new Map());
    const byPlan = child(byMessageType, messageType, () => new Map());
    byPlan.set(plan, {
      labels: { decision, reason, drm, message_type: messageType, plan },
      count: 1,
    });
  }
}
