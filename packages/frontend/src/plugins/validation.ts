/**
 * The schema validator of every route: ajv with fastify's own defaults (coerce query/params types,
 * fill defaults, drop undeclared properties where a schema says `additionalProperties: false`, stop at
 * the first error) plus the standard formats — with one exception: a schema marked
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
    const ajv = new Ajv({
      coerceTypes: 'array',
      useDefaults: true,
      removeAdditional: true,
      addUsedSchema: false,
      allErrors: false,
      strict: false,
    });
    addFormats(ajv);
    fastify.setValidatorCompiler(({ schema }) => {
      if (typeof schema === 'object' && schema !== null && VALIDATED_ELSEWHERE in schema) return () => true;
      return ajv.compile(schema);
    });
  },
  { name: 'distci-validation' },
);
