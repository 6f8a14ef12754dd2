import { OpenAPIObject } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { TSchema } from '@sinclair/typebox';
import {
  DeviceViewSchema,
  ErrorResponseSchema,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  LicensePolicySchema,
  SessionViewSchema,
  ShadowVerdictSchema,
} from './heartbeat.schema';
import { HEARTBEAT_PATH } from './heartbeat.route';

/**
 * The schemas of heartbeat.schema.ts as components of the OpenAPI document, under the model
 * names the document has always used. A nested object that is one of them becomes a $ref.
 */
const COMPONENTS = {
  HeartbeatRequestDto: HeartbeatRequestSchema,
  HeartbeatResponseDto: HeartbeatResponseSchema,
  LicensePolicyDto: LicensePolicySchema,
  SessionViewDto: SessionViewSchema,
  ShadowVerdictDto: ShadowVerdictSchema,
  DeviceViewDto: DeviceViewSchema,
  ErrorResponseDto: ErrorResponseSchema,
} satisfies Record<string, TSchema>;
export type HeartbeatComponent = keyof typeof COMPONENTS;

/** Annotations a property may put beside a shared object schema (kept next to its $ref). */
const ANNOTATIONS = ['description', 'example'];

type Json = { [key: string]: unknown };

/** An object schema without its annotations, as text: what makes it the same component. */
function shape(schema: Json): string {
  const bare: Json = {};
  for (const key of Object.keys(schema)) if (!ANNOTATIONS.includes(key)) bare[key] = schema[key];
  return JSON.stringify(bare);
}

const BY_SHAPE = new Map<string, HeartbeatComponent>(
  Object.entries(COMPONENTS).map(([name, schema]) => [shape(schema), name as HeartbeatComponent]),
);

export const heartbeatSchemaRef = (name: HeartbeatComponent) => ({
  $ref: `#/components/schemas/${name}`,
});

/**
 * A plain copy of a TypeBox schema (TypeBox's symbol keys dropped) in which every nested
 * component is a $ref; a component with its own description is `allOf: [$ref]` beside it, as
 * OpenAPI 3.0 ignores what stands beside a $ref. The contract's schemas nest only through
 * `properties` and `items`.
 */
function toOpenApi(value: unknown, nested: boolean): Json {
  const schema = value as Json;
  const component = nested && schema.type === 'object' ? BY_SHAPE.get(shape(schema)) : undefined;
  if (component) {
    const annotations = ANNOTATIONS.filter((key) => schema[key] !== undefined);
    if (!annotations.length) return heartbeatSchemaRef(component);
    const annotated: Json = {};
    for (const key of annotations) annotated[key] = schema[key];
    return { ...annotated, allOf: [heartbeatSchemaRef(component)] };
  }
  const copy: Json = {};
  for (const key of Object.keys(schema)) {
    const sub = schema[key];
    if (key === 'properties') {
      const properties: Json = {};
      for (const name of Object.keys(sub as Json)) {
        properties[name] = toOpenApi((sub as Json)[name], true);
      }
      copy[key] = properties;
    } else if (key === 'items') {
      copy[key] = toOpenApi(sub, true);
    } else {
      copy[key] = sub; // keywords and annotations whose values are data, not schemas
    }
  }
  return copy;
}

/** Puts the heartbeat contract's schemas into the document (idempotent). */
export function addHeartbeatComponents(document: OpenAPIObject): void {
  const schemas = (document.components ??= {}).schemas ?? {};
  for (const [name, schema] of Object.entries(COMPONENTS)) {
    schemas[name] = toOpenApi(schema, false) as SchemaObject;
  }
  document.components.schemas = schemas;
}

const json = (name: HeartbeatComponent) => ({
  content: { 'application/json': { schema: heartbeatSchemaRef(name) } },
});

/** Adds POST /v1/heartbeats (a plain Fastify route, heartbeat.route.ts) to the document, first. */
export function documentHeartbeatRoute(document: OpenAPIObject): void {
  addHeartbeatComponents(document);
  const post = {
    operationId: 'heartbeat',
    tags: ['renewal-check'],
    security: [{ bearer: [] }],
    summary: 'Report a license message and get allow or deny',
    description:
      'Call on every license-request, license-renewal and license-release. Allow and deny are both 200; a deny means: issue no new license.',
    requestBody: { required: true, ...json('HeartbeatRequestDto') },
    responses: {
      '200': { description: 'The decision (allow or deny)', ...json('HeartbeatResponseDto') },
      '400': { description: 'Every invalid field named', ...json('ErrorResponseDto') },
      '401': { description: 'Missing or unknown token' },
      '403': { description: 'Token of another role (admin)' },
      '413': { description: 'Body over 16 KiB' },
      '415': { description: 'Body is not application/json' },
      '503': { description: 'Store down and USHER_FAIL_MODE=closed' },
    },
  };
  document.paths = { [HEARTBEAT_PATH]: { post }, ...document.paths };
}
