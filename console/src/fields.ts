/**
 * The one table the plan form and the override form are drawn from. Fields the running usher
 * does not know yet are still offered: empty means absent, so a set unknown field comes back as
 * a 400 problem shown next to it, and the form needs no change once the API takes it.
 */
export type FieldType = 'integer' | 'enum' | 'boolean';

export interface FieldSpec {
  name: string;
  label: string;
  type: FieldType;
  min?: number;
  max?: number;
  options?: readonly string[];
  /** What the API uses when the field is absent; undefined: the feature is off. */
  fallback?: string;
  help: string;
  /** Overrides may set it too. */
  override?: boolean;
  group: 'Limits' | 'Timing' | 'Rollout and fairness' | 'Downloads';
}

export const FIELDS: readonly FieldSpec[] = [
  {
    name: 'maxStreams',
    label: 'Max streams',
    type: 'integer',
    min: 0,
    max: 100,
    fallback: '1',
    help: 'Live slots a user may hold at once.',
    override: true,
    group: 'Limits',
  },
  {
    name: 'countBy',
    label: 'Count by',
    type: 'enum',
    options: ['session', 'device'],
    fallback: 'session',
    help: 'What one slot is: a session, or a device (its sessions share one slot).',
    override: true,
    group: 'Limits',
  },
  {
    name: 'onLimit',
    label: 'At the limit',
    type: 'enum',
    options: ['reject-new', 'evict-oldest'],
    fallback: 'reject-new',
    help: 'Deny the new slot, or admit it and revoke the oldest.',
    override: true,
    group: 'Limits',
  },
  {
    name: 'renewalIntervalSeconds',
    label: 'Renewal interval (s)',
    type: 'integer',
    min: 1,
    max: 86400,
    fallback: '60',
    help: 'Renewal cadence put in licences.',
    group: 'Timing',
  },
  {
    name: 'graceSeconds',
    label: 'Grace (s)',
    type: 'integer',
    min: 0,
    max: 86400,
    fallback: '30',
    help: 'How long past the interval a slot stays live without a heartbeat.',
    group: 'Timing',
  },
  {
    name: 'enforcement',
    label: 'Enforcement',
    type: 'enum',
    options: ['enforce', 'shadow'],
    fallback: 'enforce',
    help: 'shadow: record what would be denied, but allow it.',
    override: true,
    group: 'Rollout and fairness',
  },
  {
    name: 'evictionGraceSeconds',
    label: 'Eviction grace (s)',
    type: 'integer',
    min: 0,
    max: 86400,
    fallback: '0',
    help: 'Under evict-oldest, slots younger than this are never evicted.',
    override: true,
    group: 'Rollout and fairness',
  },
  {
    name: 'handoff',
    label: 'Hand-off',
    type: 'boolean',
    fallback: 'false',
    help: 'The same content on another device replaces the live slot (phone to TV).',
    group: 'Rollout and fairness',
  },
  {
    name: 'maxStreamsPerContent',
    label: 'Max streams per content',
    type: 'integer',
    min: 1,
    max: 100,
    help: 'Live slots of one user on the same content.',
    override: true,
    group: 'Rollout and fairness',
  },
  {
    name: 'maxDevices',
    label: 'Max devices',
    type: 'integer',
    min: 1,
    max: 100,
    help: 'Distinct devices per user within the device window.',
    override: true,
    group: 'Rollout and fairness',
  },
  {
    name: 'deviceWindowHours',
    label: 'Device window (h)',
    type: 'integer',
    min: 1,
    max: 8760,
    fallback: '720',
    help: 'How long a device stays registered after it was last seen.',
    group: 'Rollout and fairness',
  },
  {
    name: 'maxDownloads',
    label: 'Max downloads',
    type: 'integer',
    min: 0,
    max: 1000,
    help: 'Live persistent licences per user; empty: downloads are not counted.',
    group: 'Downloads',
    override: true,
  },
  {
    name: 'downloadDays',
    label: 'Download lifetime (days)',
    type: 'integer',
    min: 1,
    max: 3650,
    fallback: '30',
    help: 'A download lapses this long after its first licence.',
    group: 'Downloads',
  },
  {
    name: 'downloadPlaybackHours',
    label: 'Playback window (h)',
    type: 'integer',
    min: 1,
    max: 8760,
    fallback: '48',
    help: 'How long a download plays once playback starts.',
    group: 'Downloads',
  },
];

export const PLAN_FIELDS = FIELDS;
export const OVERRIDE_FIELDS = FIELDS.filter((f) => f.override);

/** Form values: one string per field, '' for "not set". */
export type FormValues = Record<string, string>;

export function valuesOf(record: object | undefined, fields: readonly FieldSpec[]): FormValues {
  const values: FormValues = {};
  const source = (record ?? {}) as Record<string, unknown>;
  for (const f of fields) {
    const value = source[f.name];
    values[f.name] = value === undefined || value === null ? '' : String(value);
  }
  return values;
}

/** The body to send: only the fields that are set, typed; a malformed number goes as typed. */
export function bodyOf(values: FormValues, fields: readonly FieldSpec[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const f of fields) {
    const raw = (values[f.name] ?? '').trim();
    if (raw === '') continue;
    if (f.type === 'integer') body[f.name] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    else if (f.type === 'boolean') body[f.name] = raw === 'true';
    else body[f.name] = raw;
  }
  return body;
}

/** Splits the API's problems ("field: what is wrong") by the field they name. */
export function problemsByField(problems: string[], names: readonly string[]) {
  const byField: Record<string, string[]> = {};
  const other: string[] = [];
  for (const problem of problems) {
    const named = problem.split(':', 1)[0].trim();
    const field = named.split('.').pop() ?? named;
    if (names.includes(field)) (byField[field] ??= []).push(problem);
    else other.push(problem);
  }
  return { byField, other };
}

const shown = (value: unknown) => (value === undefined || value === '' ? 'not set' : String(value));

/** "maxStreams: 2 → 5" for each field that differs between two bodies. */
export function changes(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  names: readonly string[],
): string[] {
  return names
    .filter((n) => shown(before[n]) !== shown(after[n]))
    .map((n) => `${n}: ${shown(before[n])} → ${shown(after[n])}`);
}
