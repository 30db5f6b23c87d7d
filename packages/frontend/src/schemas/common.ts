/**
 * Schemas shared by every route: the error body, path parameters, and helpers. TypeBox builds plain
 * JSON Schema, so one definition serves validation (ajv), the handler's types (the type provider),
 * serialization (fast-json-stringify) and the OpenAPI document.
 */
import { JOB_NAME, nullable } from '@distci/common';
import { Type } from 'typebox';

export const ErrorSchema = Type.Object(
  {
    code: Type.String({ description: 'A stable DISTCI_… code (docs/errors.md).' }),
    message: Type.String(),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    requestId: Type.String({ description: 'Quote it when reporting a 5xx.' }),
  },
  { description: 'Every error answer.' },
);

/** Error responses for the given statuses, plus every 5xx. */
export function errors<S extends number>(...statuses: S[]): Record<S | '5xx', typeof ErrorSchema> {
  const out = { '5xx': ErrorSchema } as Record<S | '5xx', typeof ErrorSchema>;
  for (const s of statuses) out[s] = ErrorSchema;
  return out;
}

export { nullable };

export const JobName = Type.String({ pattern: JOB_NAME.source, description: 'The job name.' });
export const BuildNumber = Type.Integer({ minimum: 1, maximum: 9_999_999_999, description: 'The build number.' });
/** A planned step id: the step name, plus `[k=v,…]` for a matrix combination. */
export const StepId = Type.String({ minLength: 1, maxLength: 200, description: 'A step id, e.g. test[cc=gcc].' });

export const JobParams = Type.Object({ job: JobName });
export const BuildParams = Type.Object({ job: JobName, n: BuildNumber });
export const StepParams = Type.Object({ job: JobName, n: BuildNumber, step: StepId });

/** The body of an empty object answer, e.g. `{ok: true}`. */
export const OkSchema = Type.Object({ ok: Type.Boolean() });
