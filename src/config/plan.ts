/** A plan: the policy a user's slots are counted by (README, "Plans"). */
export const COUNT_BY = ['session', 'device'] as const;
export const ON_LIMIT = ['reject-new', 'evict-oldest'] as const;
export const ENFORCEMENT = ['enforce', 'shadow'] as const;
export type CountBy = (typeof COUNT_BY)[number];
export type OnLimit = (typeof ON_LIMIT)[number];
export type Enforcement = (typeof ENFORCEMENT)[number];

export interface PlanPolicy {
  maxStreams: number;
  countBy: CountBy;
  onLimit: OnLimit;
  renewalIntervalSeconds: number;
  graceSeconds: number;
  /** Live downloads (persistent licences) a user may hold; absent: downloads are not counted. */
  maxDownloads?: number;
  /** How long a download lives after its first licence (default DOWNLOAD_DEFAULTS). */
  downloadDays?: number;
  /** How long a downloaded title plays once playback starts (default DOWNLOAD_DEFAULTS). */
  downloadPlaybackHours?: number;
  /**
   * Rollout and fairness controls (docs/admin-api.md, "Rollout and fairness controls"); each
   * absent keeps the behaviour without it.
   */
  /** shadow: decisions are computed and reported, never enforced (default enforce). */
  enforcement?: Enforcement;
  /** Under evict-oldest (and handoff): a slot younger than this is never evicted (default 0). */
  evictionGraceSeconds?: number;
  /** At the limit, a new slot on the content of a live slot on another device replaces it. */
  handoff?: boolean;
  /** Live slots of one user on one contentId. */
  maxStreamsPerContent?: number;
  /** Distinct deviceIds per user within deviceWindowHours (device registration cap). */
  maxDevices?: number;
  /** The device registration window (default CONTROL_DEFAULTS). */
  deviceWindowHours?: number;
}

/** What a plan that names no download field gets (docs/admin-api.md, "Downloads"). */
export const DOWNLOAD_DEFAULTS = { downloadDays: 30, downloadPlaybackHours: 48 } as const;

/** What a plan that names no control field gets (docs/admin-api.md). */
export const CONTROL_DEFAULTS = {
  enforcement: 'enforce',
  evictionGraceSeconds: 0,
  handoff: false,
  deviceWindowHours: 720,
} as const;

/** The rollout and fairness controls a plan may set (docs/admin-api.md). */
export const CONTROL_FIELDS = [
  'enforcement',
  'evictionGraceSeconds',
  'handoff',
  'maxStreamsPerContent',
  'maxDevices',
  'deviceWindowHours',
] as const satisfies readonly (keyof PlanPolicy)[];

export interface Plan extends PlanPolicy {
  name: string;
}

/** Plan names travel inside the Lua plan table, so they must never hold spaces or newlines. */
export const PLAN_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const PLAN_DEFAULTS: PlanPolicy = {
  maxStreams: 1,
  countBy: 'session',
  onLimit: 'reject-new',
  renewalIntervalSeconds: 60,
  graceSeconds: 30,
};

const INTEGER_RANGES = {
  maxStreams: [0, 100],
  renewalIntervalSeconds: [1, 86400],
  graceSeconds: [0, 86400],
  maxDownloads: [0, 1000],
  downloadDays: [1, 3650],
  downloadPlaybackHours: [1, 8760],
  evictionGraceSeconds: [0, 86400],
  maxStreamsPerContent: [1, 100],
  maxDevices: [1, 100],
  deviceWindowHours: [1, 8760],
} as const;

const PLAN_FIELDS = new Set([
  'countBy',
  'onLimit',
  'enforcement',
  'handoff',
  ...Object.keys(INTEGER_RANGES),
]);

export interface PlanParseResult {
  plan?: Plan;
  problems: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates one plan body (from the plans file or the admin API), naming every bad field.
 * Omitted fields take PLAN_DEFAULTS; `where` prefixes each problem (e.g. "plans.basic").
 */
export function parsePlan(name: string, body: unknown, where = ''): PlanParseResult {
  const at = (field: string) => (where ? `${where}.${field}` : field);
  const problems: string[] = [];
  if (!PLAN_NAME_PATTERN.test(name)) {
    problems.push(`${where || 'name'}: plan name must be 1-64 characters of A-Z a-z 0-9 _ -`);
  }
  if (!isRecord(body)) {
    problems.push(`${where || 'plan'}: must be an object`);
    return { problems };
  }
  for (const key of Object.keys(body)) {
    if (!PLAN_FIELDS.has(key)) problems.push(`${at(key)}: unknown field`);
  }
  const policy: PlanPolicy = { ...PLAN_DEFAULTS };
  for (const [field, [min, max]] of Object.entries(INTEGER_RANGES)) {
    const value = body[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${at(field)}: must be an integer from ${min} to ${max}`);
    } else {
      policy[field as keyof typeof INTEGER_RANGES] = value;
    }
  }
  const enumField = <T extends string>(
    field: 'countBy' | 'onLimit' | 'enforcement',
    allowed: readonly T[],
  ) => {
    const value = body[field];
    if (value === undefined) return;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) {
      (policy as unknown as Record<string, string>)[field] = value;
    } else {
      problems.push(`${at(field)}: must be one of ${allowed.join(', ')}`);
    }
  };
  enumField('countBy', COUNT_BY);
  enumField('onLimit', ON_LIMIT);
  enumField('enforcement', ENFORCEMENT);
  if (body.handoff !== undefined) {
    if (typeof body.handoff === 'boolean') policy.handoff = body.handoff;
    else problems.push(`${at('handoff')}: must be true or false`);
  }
  return problems.length ? { problems } : { plan: { name, ...policy }, problems };
}

export interface PlanCatalog {
  defaultPlan: string;
  plans: Plan[];
}

/** Validates a whole plans document (the YAML file's shape). */
export function parsePlanCatalog(
  doc: unknown,
  source: string,
): { catalog?: PlanCatalog; problems: string[] } {
  const problems: string[] = [];
  if (!isRecord(doc)) return { problems: [`${source}: must be a YAML mapping`] };
  for (const key of Object.keys(doc)) {
    if (key !== 'defaultPlan' && key !== 'plans') problems.push(`${source}: ${key}: unknown field`);
  }
  const plans: Plan[] = [];
  if (!isRecord(doc.plans) || Object.keys(doc.plans).length === 0) {
    problems.push(`${source}: plans: must map at least one plan name to its settings`);
  } else {
    for (const [name, body] of Object.entries(doc.plans)) {
      const result = parsePlan(name, body ?? {}, `plans.${name}`);
      problems.push(...result.problems.map((p) => `${source}: ${p}`));
      if (result.plan) plans.push(result.plan);
    }
  }
  const defaultPlan = doc.defaultPlan;
  if (typeof defaultPlan !== 'string') {
    problems.push(`${source}: defaultPlan: must name one of the plans`);
  } else if (isRecord(doc.plans) && !(defaultPlan in doc.plans)) {
    problems.push(`${source}: defaultPlan: "${defaultPlan}" is not one of the plans`);
  }
  return problems.length
    ? { problems }
    : { catalog: { defaultPlan: defaultPlan as string, plans }, problems };
}
