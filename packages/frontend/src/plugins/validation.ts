/**
 * The schema validator of every route: ajv with the standard formats, filling defaults and stopping at
 * the first error. Params, query and headers are coerced to their schema's types (they are text);
 * bodies are not, and a body field a schema does not declare is refused (fastify's default would drop
 * it silently) — bad input gets a clear error (invariant 9). One exception: a schema marked
 * `VALIDATED_ELSEWHERE` is published (OpenAPI) but not checked here, because a domain validator checks
 * it better. The job config body is such a schema: `validateJob` reports *every* problem with its JSON
 * path (`DISTCI_INVALID_JOB`), where ajv in a route would stop at the first with a schema path.
 */
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** Marks a route schema as checked by the handler (the marker is an OpenAPI extension field). */
export const VALIDATED_ELSEWHERE = 'x-validated-by';

// ajv-formats is CommonJS: depending on the loader its default import is the plugin or its module.
type FormatsPlugin = (ajv: Ajv) => Ajv;
const formats = addFormatsModule as unknown as FormatsPlugin | { default: FormatsPlugin };
const addFormats: FormatsPlugin = typeof formats === 'function' ? formats : formats.default;

export const validationPlugin = fp(
  async (fastify: FastifyInstance) => {
    const common = { useDefaults: true, addUsedSchema: false, allErrors: false, strict: false } as const;
    // Params, query and headers arrive as text: coerce them to the schema's types.
    const text = addFormats(new Ajv({ ...common, coerceTypes: 'array' }));
    // Bodies are JSON: a `1` where a string belongs, or a field nobody declared, is an error, not
    // something to convert or drop silently.
    const json = addFormats(new Ajv({ ...common, coerceTypes: false, removeAdditional: false }));
    fastify.setValidatorCompiler(({ schema, httpPart }) => {
      if (typeof schema === 'object' && schema !== null && VALIDATED_ELSEWHERE in schema) return () => true;
      return (httpPart === 'body' ? json : text).compile(schema);
    });
  },
  { name: 'distci-validation' },
);
