/** Job configs over the API. The config itself is the schema of `@distci/common` (docs/job-config.md). */
import { jobSchema } from '@distci/common';
import { Type } from 'typebox';
import { VALIDATED_ELSEWHERE } from '../plugins/validation.js';

const { $schema: _s, $id: _i, ...published } = jobSchema;

/** The request body of POST/PUT: documented here, checked by `validateJob` (every problem at once). */
export const JobConfigBody = Type.Unsafe<unknown>({ ...published, [VALIDATED_ELSEWHERE]: 'validateJob' });

/** A stored job and the job list: `@distci/common`'s (the CLI reads the same types). */
export { JobConfigOut, JobListSchema, JobSummarySchema, StoredJobSchema as JobSchema } from '@distci/common';
