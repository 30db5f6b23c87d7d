/** Job configs over the API. The config itself is the schema of `@distci/common` (docs/job-config.md). */
import { type JobConfig, jobSchema } from '@distci/common';
import { Type } from 'typebox';
import { VALIDATED_ELSEWHERE } from '../plugins/validation.js';

const { $schema: _s, $id: _i, ...published } = jobSchema;

/** The request body of POST/PUT: documented here, checked by `validateJob` (every problem at once). */
export const JobConfigBody = Type.Unsafe<unknown>({ ...published, [VALIDATED_ELSEWHERE]: 'validateJob' });

/** A stored config as answered: serialized as it is. */
export const JobConfigOut = Type.Unsafe<JobConfig>({ type: 'object', additionalProperties: true });

export const JobSchema = Type.Object({
  name: Type.String(),
  etag: Type.String({ description: 'the config version for If-Match (also in the ETag header)' }),
  version: Type.String({ description: 'sha256 of the config snapshot builds of this version run' }),
  config: JobConfigOut,
  warnings: Type.Optional(
    Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), {
      description: 'on save: env values that look like credentials (use secrets instead)',
    }),
  ),
});

export const JobSummarySchema = Type.Object({
  name: Type.String(),
  etag: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  repository: Type.Union([Type.String(), Type.Null()]),
  steps: Type.Integer(),
});

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobSummarySchema),
  next: Type.Union([Type.String(), Type.Null()], { description: 'pass as ?cursor= for the next page' }),
});
