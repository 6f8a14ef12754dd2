/*
 * A Lua script answers with a positional array. Each reply, and each row inside one, has a field
 * table: its field names in the order the script returns them, the one place those positions are
 * named on this side (script-replies.ts). The Lua code that builds the reply carries a comment
 * naming the same table with the same fields ("HEARTBEAT_REPLY { decision, reason, ... }"), and
 * test/unit/script-replies.spec.ts fails when the two differ. Everything else is derived once, at
 * load: the position of each field (`at`), the reply's typed tuple (ReplyTuple), its check
 * (checkReply) and a named decoder (decodeReply).
 */

/** The names of F's fields, in reply order. */
export type FieldNames<F> = readonly (keyof F & string)[];

/** The positional reply, typed field by field: element i has the type of the field named i-th. */
export type ReplyTuple<F, N extends FieldNames<F>> = { readonly [K in keyof N]: F[N[K] & keyof F] };

/** Each field's position: { decision: 0, reason: 1, ... } as literal types. */
export type FieldIndex<N extends readonly string[]> = {
  readonly [
    K in keyof N as K extends `${number}` ? N[K] & string : never
  ]: K extends `${infer I extends number}` ? I : never;
};

/** `unknown` when the names cover every field of F; else a type no array of names satisfies. */
type Covering<F, N extends readonly string[]> = [Exclude<keyof F, N[number]>] extends [never]
  ? unknown
  : { missingFields: Exclude<keyof F, N[number]> };

/** What any field table says about itself, whatever its fields. */
export interface TableShape {
  /** The table's name, as the Lua comment names it. */
  readonly name: string;
  /** The Lua file (src/sessions/lua) that builds this reply or row. */
  readonly script: string;
  readonly fields: readonly string[];
  /** Fields every reply carries; the ones after may be left off (F marks them optional). */
  readonly required: number;
}

/** One reply's (or row's) field table, with what is derived from it. */
export interface ReplyTable<F, N extends FieldNames<F>> extends TableShape {
  readonly fields: N;
  /** Each field's position, resolved once. */
  readonly at: FieldIndex<N>;
}

/** The tuple a table describes. */
export type RowOf<T> = T extends ReplyTable<infer F, infer N> ? ReplyTuple<F, N> : never;

/**
 * A field table over F's fields: `replyFields<F>()(name, script, [every field of F, in reply
 * order], required)`. Curried so that F is given and the names are inferred as a tuple; a name
 * missing from the list, or one F does not have, is a compile error, a name given twice a load
 * error.
 */
export function replyFields<F>() {
  return <const N extends FieldNames<F>>(
    name: string,
    script: string,
    fields: N & Covering<F, N>,
    required: number = fields.length,
  ): ReplyTable<F, N> => {
    const at: Record<string, number> = {};
    fields.forEach((field, i) => {
      if (Object.hasOwn(at, field)) throw new Error(`${name}: field ${field} named twice`);
      at[field] = i;
    });
    return Object.freeze({
      name,
      script,
      fields,
      at: Object.freeze(at) as FieldIndex<N>,
      required,
    });
  };
}

/** A script answered with something its field table does not describe (the two drifted apart). */
export class ScriptReplyError extends Error {
  constructor(table: TableShape, raw: unknown) {
    const expected =
      table.required === table.fields.length
        ? `${table.fields.length}`
        : `${table.required} to ${table.fields.length}`;
    const got = Array.isArray(raw) ? `${raw.length} fields` : `a ${typeof raw}, not a list`;
    super(
      `lua/${table.script}: ${table.name} expects ${expected} fields ` +
        `(${table.fields.join(', ')}), got ${got}`,
    );
  }
}

/**
 * Checks that `raw` has the table's shape (a list of as many fields as it names, or only the
 * required ones): one Array.isArray and a length comparison, no allocation. What each field
 * holds is the script's word (the tables are kept in step with the Lua by the test above).
 */
export function checkReply<F, N extends FieldNames<F>>(
  table: ReplyTable<F, N>,
  raw: unknown,
): asserts raw is ReplyTuple<F, N> {
  if (!Array.isArray(raw) || raw.length < table.required || raw.length > table.fields.length) {
    throw new ScriptReplyError(table, raw);
  }
}

/**
 * The reply as an object of named fields (a field left off is undefined). It allocates that
 * object, so the heartbeat's hot path reads `raw[TABLE.at.field]` after checkReply instead.
 */
export function decodeReply<F, N extends FieldNames<F>>(
  table: ReplyTable<F, N>,
  raw: unknown,
): Pick<F, N[number]> {
  checkReply(table, raw);
  const values = raw as readonly unknown[];
  const named: Record<string, unknown> = {};
  for (let i = 0; i < table.fields.length; i++) named[table.fields[i]] = values[i];
  return named as Pick<F, N[number]>;
}
