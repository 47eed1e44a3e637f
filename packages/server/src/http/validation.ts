import { Ajv, type Options } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

const common: Options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false };

/**
 * The longest string a request may carry where its schema sets no limit of its own: bodies hold prompts, notes and
 * descriptions; query strings and path parameters hold names, ids and search words.
 */
export const DEFAULT_MAX_LENGTH = { body: 100_000, other: 4096 } as const;

type Schema = Record<string, unknown>;

/** A copy of `schema` in which every string without a maxLength gets `maxLength`. Referenced schemas keep theirs. */
export function withStringLimits(schema: unknown, maxLength: number): unknown {
  if (Array.isArray(schema)) return schema.map((item) => withStringLimits(item, maxLength));
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Schema = {};
  for (const [key, value] of Object.entries(schema as Schema)) {
    // `properties` and `patternProperties` map names to schemas; every other object-valued keyword is a schema or a list.
    if ((key === 'properties' || key === 'patternProperties' || key === '$defs' || key === 'definitions') && value && typeof value === 'object') {
      copy[key] = Object.fromEntries(Object.entries(value as Schema).map(([name, sub]) => [name, withStringLimits(sub, maxLength)]));
    } else if (key === 'enum' || key === 'const' || key === 'default' || key === 'examples' || key === 'required') {
      copy[key] = value;
    } else {
      copy[key] = withStringLimits(value, maxLength);
    }
  }
  const type = copy.type;
  const isString = type === 'string' || (Array.isArray(type) && type.includes('string'));
  if (isString && copy.maxLength === undefined && copy.enum === undefined && copy.const === undefined) copy.maxLength = maxLength;
  return copy;
}

/**
 * Query strings and path parameters arrive as text, so they are coerced ("2" → 2, "true" → true). JSON bodies are
 * not: `{"active": "true"}` is a client bug and gets a 422, as the original's strict fields did. No request string is
 * unbounded (see DEFAULT_MAX_LENGTH).
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const coercing = addFormats(new Ajv({ ...common, coerceTypes: 'array' }));
  const strict = addFormats(new Ajv({ ...common, coerceTypes: false }));
  return ({ schema, httpPart }) =>
    httpPart === 'body'
      ? strict.compile(withStringLimits(schema, DEFAULT_MAX_LENGTH.body) as object)
      : coercing.compile(withStringLimits(schema, DEFAULT_MAX_LENGTH.other) as object);
}
