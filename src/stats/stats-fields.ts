/**
 * Field names inside one bucket hash. Plan names never hold ':' (PLAN_NAME_PATTERN), reasons
 * and fail modes are fixed words, so every field splits back unambiguously.
 */
export const statsField = {
  /** Heartbeats answered, by plan, decision and reason (added). */
  decision: (plan: string, decision: string, reason: string) => `d:${plan}:${decision}:${reason}`,
  /** Shadow denials by plan and reason (added). */
  shadow: (plan: string, reason: string) => `s:${plan}:${reason}`,
  /** Degraded answers by fail mode, 503s under closed included (added). */
  degraded: (failMode: string) => `g:${failMode}`,
  /** Cluster-wide live slots of a plan when the bucket was written (set). */
  activeSlots: (plan: string) => `a:${plan}`,
  /** The plan's maxStreams when the bucket was written (set). */
  maxStreams: (plan: string) => `m:${plan}`,
};

export type ParsedField =
  | { kind: 'decision'; plan: string; decision: string; reason: string }
  | { kind: 'shadow'; plan: string; reason: string }
  | { kind: 'degraded'; failMode: string }
  | { kind: 'activeSlots'; plan: string }
  | { kind: 'maxStreams'; plan: string };

export function parseStatsField(field: string): ParsedField | undefined {
  const [kind, a, b, c] = field.split(':');
  if (kind === 'd' && a && b && c) return { kind: 'decision', plan: a, decision: b, reason: c };
  if (kind === 's' && a && b) return { kind: 'shadow', plan: a, reason: b };
  if (kind === 'g' && a) return { kind: 'degraded', failMode: a };
  if (kind === 'a' && a) return { kind: 'activeSlots', plan: a };
  if (kind === 'm' && a) return { kind: 'maxStreams', plan: a };
  return undefined;
}
