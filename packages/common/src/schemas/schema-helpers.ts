/**
 * Small TypeBox helpers for schemas whose JSON must stay as published (docs/job-config.schema.json)
 * and that fast-json-stringify serializes quickly. Each returns a plain JSON Schema object with a
 * precise static type, so `Static<>` of a schema built from them is the TypeScript shape.
 */
import { type Static, type TSchema, Type } from 'typebox';

/** A primitive schema that also allows null (`{type: [t, 'null']}`: fast to serialize). */
export function nullable<T extends TSchema>(schema: T) {
  const out = { ...schema } as Record<string, unknown>;
  out.type = [out.type, 'null'];
  if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  return Type.Unsafe<Static<T> | null>(out);
}

/** One of some strings: `{type: 'string', enum: [...]}` (ajv reports "must be one of"). */
export function stringEnum<const V extends readonly string[]>(values: V, options: Record<string, unknown> = {}) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}

/** An enum without `type` (as the job schema has always published it). */
export function bareEnum<const V extends readonly string[]>(values: V, options: Record<string, unknown> = {}) {
  return Type.Unsafe<V[number]>({ enum: [...values], ...options });
}

/** Exactly one of `schemas` (`oneOf`, not TypeBox's `anyOf`), typed as their union. */
export function oneOf<T extends TSchema[]>(schemas: [...T], options: Record<string, unknown> = {}) {
  return Type.Unsafe<Static<T[number]>>({ ...options, oneOf: schemas });
}

/** A string-to-string map whose keys match `keys`: `{propertyNames, additionalProperties}`. */
export function stringMap(keys: RegExp, options: Record<string, unknown> = {}) {
  return Type.Unsafe<Record<string, string>>({
    type: 'object',
    propertyNames: { pattern: keys.source },
    additionalProperties: { type: 'string' },
    ...options,
  });
}

/** A string matching `re` (its `source` becomes the schema's `pattern`: defined once, in keys.ts). */
export function matching(re: RegExp, options: Record<string, unknown> = {}) {
  return Type.String({ pattern: re.source, ...options });
}
