/** Jobs over the API: a stored job and the job list. The config itself is `JobConfigSchema`. */
import { type Static, Type } from 'typebox';
import type { JobConfig } from '../jobs/job-config.js';

/** A stored config as answered: serialized as it is (it was validated on the way in). */
export const JobConfigOut = Type.Unsafe<JobConfig>({ type: 'object', additionalProperties: true });

export const StoredJobSchema = Type.Object({
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

export type StoredJobView = Static<typeof StoredJobSchema>;
export type JobSummary = Static<typeof JobSummarySchema>;
export type JobList = Static<typeof JobListSchema>;
