import Ajv, { ErrorObject } from 'ajv';
import { ID_ALPHABET, ID_PATTERN } from '../common/ids';
import { HeartbeatRequest, HeartbeatRequestSchema } from './heartbeat.schema';

/**
 * The body validator compiled from HeartbeatRequestSchema: the heartbeat route hands it to
 * Fastify as its body validator, and the licence proxy calls it through validateHeartbeat. Every
 * error is collected (allErrors), nothing is coerced, defaulted or removed: what is checked is
 * what the client sent.
 */
export const checkHeartbeatBody = new Ajv({
  allErrors: true,
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  keywords: ['example'],
}).compile<HeartbeatRequest>(HeartbeatRequestSchema);

/** What problem wording needs of an Ajv error (Fastify's validation errors have it too). */
export type SchemaError = Pick<ErrorObject, 'keyword' | 'instancePath' | 'params' | 'message'>;

type FieldSchema = { enum?: string[]; minLength?: number; maxLength?: number; pattern?: string };
const PROPERTIES = HeartbeatRequestSchema.properties as Partial<Record<string, FieldSchema>>;
const FIELDS = Object.keys(PROPERTIES);
const NOT_AN_OBJECT = 'body: must be a JSON object';
/** A valid body's problems: none, shared (no allocation per heartbeat). */
const NO_PROBLEMS: readonly string[] = Object.freeze([]);

/** The wording of one schema error, for the field it is about. */
function fieldProblem(field: string, error: SchemaError): string {
  const schema = PROPERTIES[field] ?? {};
  const oneOf = schema.enum && `one of ${schema.enum.join(', ')}`;
  switch (error.keyword) {
    case 'required':
      return oneOf ? `required (${oneOf})` : 'required';
    case 'type':
    case 'enum':
      return oneOf ? `must be ${oneOf}` : `must be a ${String(error.params.type)}`;
    case 'minLength':
    case 'maxLength':
      return `must be ${schema.minLength ?? 0}-${schema.maxLength} characters`;
    case 'pattern':
      if (schema.pattern === ID_PATTERN.source) return `may only contain ${ID_ALPHABET}`;
      return `must match ${schema.pattern}`;
    default:
      return error.message ?? 'is invalid';
  }
}

/**
 * Every problem of a heartbeat body, one per field ("field: what is wrong"): the schema's errors
 * (from checkHeartbeatBody, or as Fastify attached them) in the wording of the 400 answer, then
 * what JSON Schema cannot say: the plan must exist now, and without customSessionId or
 * sessionId a deviceId is needed to synthesize the session id. Unknown fields come first, then
 * the fields in the schema's order. Empty when the body is valid.
 */
export function heartbeatProblems(
  body: unknown,
  errors: readonly SchemaError[] | null | undefined,
  isKnownPlan: (name: string) => boolean,
): readonly string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [NOT_AN_OBJECT];
  const input = body as Partial<Record<string, unknown>>;
  const unknownPlan = typeof input.plan === 'string' && !isKnownPlan(input.plan);
  const noIds =
    input.customSessionId === undefined &&
    input.sessionId === undefined &&
    input.deviceId === undefined;
  // The common case, a valid heartbeat, allocates nothing.
  if (!errors?.length && !unknownPlan && !noIds) return NO_PROBLEMS;
  const unknown: string[] = [];
  const byField = new Map<string, string>();
  for (const error of errors ?? []) {
    if (error.keyword === 'additionalProperties') {
      unknown.push(`${String(error.params.additionalProperty)}: unknown field`);
      continue;
    }
    const field =
      error.keyword === 'required'
        ? String(error.params.missingProperty)
        : error.instancePath.slice(1) || 'body';
    // Ajv may report two errors for one field (maxLength and pattern): the first one names it.
    if (!byField.has(field)) byField.set(field, `${field}: ${fieldProblem(field, error)}`);
  }
  if (unknownPlan && !byField.has('plan')) {
    byField.set('plan', `plan: ${JSON.stringify(input.plan)} is not a known plan`);
  }
  if (noIds) {
    byField.set(
      'deviceId',
      'deviceId: required when neither customSessionId nor sessionId is given (the session id is synthesized from it)',
    );
  }
  if (!unknown.length && !byField.size) return unknown;
  const problems = unknown;
  for (const field of FIELDS) {
    const problem = byField.get(field);
    if (problem !== undefined) problems.push(problem);
    byField.delete(field);
  }
  problems.push(...byField.values());
  return problems;
}

/**
 * Validates a heartbeat body against the schema and the rules beyond it, naming every bad
 * field. `isKnownPlan` says which plan names exist right now.
 */
export function validateHeartbeat(
  body: unknown,
  isKnownPlan: (name: string) => boolean,
): { request?: HeartbeatRequest; problems: readonly string[] } {
  const valid = checkHeartbeatBody(body);
  const problems = heartbeatProblems(body, valid ? null : checkHeartbeatBody.errors, isKnownPlan);
  return problems.length ? { problems } : { request: body as HeartbeatRequest, problems };
}
