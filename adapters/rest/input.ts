/**
 * A REST request's procedure input, assembled by rules compiled once per route from its input schema.
 * These are the rules the documented contract has always been served with:
 *
 * - POST, PUT, PATCH: the JSON body. GET and DELETE: the query string, which a DELETE's JSON body
 *   joins (its fields win). Query parameters the input does not name are ignored (API.md section 5). Path parameters come last and win over any field of the same name; they
 *   arrive as written in the URL, still percent-encoded.
 * - From the query (and a DELETE's body): empty values are dropped (an empty string, and in a
 *   DELETE's body also false, 0 and null), a one-element list becomes its value, and a field whose
 *   schema is a list (or an optional list) receives a single value as a one-element list.
 * - On every method, fields whose schema is a number, boolean, bigint or date (at any depth of
 *   nested objects, in lists, behind optional, nullable or default) are coerced as `z.coerce` would:
 *   `Number(v)`, `Boolean(v)`, `BigInt(v)`, `new Date(v)`; the schema then judges the result. A
 *   string holding a NUL byte stays a string, for the guard to refuse.
 * - A procedure whose input is void, undefined or never receives no input at all.
 *
 * The schemas themselves are left as they are, so the tRPC transport and direct calls parse inputs
 * exactly as declared.
 */
import type { ParsedUrlQuery } from 'node:querystring';

/** The part of a zod 4 schema read here: its definition's kind and the fields each kind carries. */
interface SchemaLike {
  _zod: { def: SchemaDef };
}

interface SchemaDef {
  type: string;
  innerType?: SchemaLike;
  element?: SchemaLike;
  shape?: Record<string, SchemaLike>;
  getter?: () => SchemaLike;
  in?: SchemaLike;
  out?: SchemaLike;
}

type Coerce = (value: unknown) => unknown;

const LEAVES: Record<string, Coerce> = {
  number: (value) => Number(value),
  boolean: (value) => Boolean(value),
  bigint: (value) => {
    try {
      return BigInt(value as string);
    } catch {
      return value;
    }
  },
  date: (value) => new Date(value as string),
};

/**
 * The guard (server/trpc.ts) reads the raw input and refuses a NUL byte in any string by the field's
 * name; a string holding one is left as it is, so that coercion cannot hide it from the guard.
 */
const withNul = (value: unknown) => typeof value === 'string' && value.includes('\0');

const def = (schema: SchemaLike | undefined): SchemaDef | undefined => schema?._zod?.def;

/** How a field's value is coerced before its schema parses it; undefined when it is left alone. */
function coercerFor(schema: SchemaLike | undefined, seen = new Set<SchemaLike>()): Coerce | undefined {
  const d = def(schema);
  if (!d || !schema || seen.has(schema)) return undefined;
  seen.add(schema);
  switch (d.type) {
    case 'optional':
    case 'default':
    case 'prefault': {
      const inner = coercerFor(d.innerType, seen);
      return inner && ((value) => (value === undefined ? value : inner(value)));
    }
    case 'nullable': {
      const inner = coercerFor(d.innerType, seen);
      return inner && ((value) => (value === null ? value : inner(value)));
    }
    case 'lazy':
      return coercerFor(d.getter?.(), seen);
    case 'array': {
      const element = coercerFor(d.element, seen);
      return element && ((value) => (Array.isArray(value) ? value.map(element) : value));
    }
    case 'object':
      return objectCoercer(d.shape ?? {}, seen);
    default: {
      const leaf = LEAVES[d.type];
      return leaf && ((value) => (withNul(value) ? value : leaf(value)));
    }
  }
}

function objectCoercer(shape: Record<string, SchemaLike>, seen: Set<SchemaLike>): Coerce | undefined {
  const fields = Object.entries(shape).flatMap(([name, field]) => {
    const coerce = coercerFor(field, seen);
    return coerce ? [[name, coerce] as const] : [];
  });
  if (fields.length === 0) return undefined;
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const coerced: Record<string, unknown> = { ...value };
    for (const [name, coerce] of fields) {
      // A missing field is coerced too (a required number reads as NaN, a boolean as false, as with
      // z.coerce), but one that stays undefined stays absent.
      const result = coerce(coerced[name]);
      if (result !== undefined || name in coerced) coerced[name] = result;
    }
    return coerced;
  };
}

/** The schema whose object shape the input is read against: a transform's input side, a pipe's output. */
function inputObject(schema: SchemaLike | undefined): SchemaDef | undefined {
  const d = def(schema);
  if (!d) return undefined;
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
      return inputObject(d.innerType);
    case 'lazy':
      return inputObject(d.getter?.());
    case 'pipe':
      return inputObject(def(d.out)?.type === 'transform' ? d.in : d.out);
    default:
      return d;
  }
}

const isList = (schema: SchemaLike): boolean => {
  const d = def(schema);
  return d?.type === 'array' || (d?.type === 'optional' && def(d.innerType)?.type === 'array');
};

const VOID_KINDS = new Set(['void', 'undefined', 'never']);

export interface InputSources {
  method: string;
  params: Record<string, string>;
  query: ParsedUrlQuery;
  /** The parsed JSON body; `{}` for a write sent without one, undefined when none was read. */
  body: unknown;
}

export type InputReader = (sources: InputSources) => unknown;

/** Compiles the input rules above for a procedure with these input schemas (a procedure may declare several). */
export function inputReader(inputs: readonly unknown[]): InputReader {
  const schemas = inputs as SchemaLike[];
  const only = schemas.length === 1 ? inputObject(schemas[0]) : undefined;
  if (only && VOID_KINDS.has(only.type)) return () => undefined;
  const shapes = schemas.map((schema) => inputObject(schema)).filter((d) => d?.type === 'object');
  const shape: Record<string, SchemaLike> = Object.assign({}, ...shapes.map((d) => d?.shape));
  const lists = Object.keys(shape).filter((name) => isList(shape[name] as SchemaLike));
  const coerce = objectCoercer(shape, new Set()) ?? ((value: unknown) => value);
  // Unknown query parameters are ignored (a tracking tag on a link, a provider's extra callback
  // parameters); unknown body fields stay for the schema to refuse.
  const known = new Set(Object.keys(shape));
  const knownQuery = (q: ParsedUrlQuery) =>
    Object.fromEntries(Object.entries(q).filter(([name]) => known.has(name) || shapes.length === 0));
  return ({ method, params, query, body }) => {
    if (method !== 'GET' && method !== 'DELETE') return coerce({ ...(body as object), ...params });
    const fromUrl = knownQuery(query);
    const fields = fromQuery(method === 'DELETE' && isObject(body) ? { ...fromUrl, ...body } : fromUrl);
    for (const name of lists) {
      const value = fields[name];
      if (value !== undefined && !Array.isArray(value)) fields[name] = [value];
    }
    return coerce({ ...fields, ...params });
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function fromQuery(source: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const name of Object.keys(source)) {
    const value = source[name];
    if (value) fields[name] = Array.isArray(value) && value.length === 1 ? value[0] : value;
  }
  return fields;
}
