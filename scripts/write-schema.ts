/** Writes docs/job-config.schema.json from the schema in code (a test checks they are equal). */
import { writeFileSync } from 'node:fs';
import { jobSchema } from '@distci/common';

writeFileSync(new URL('../docs/job-config.schema.json', import.meta.url), `${JSON.stringify(jobSchema, null, 2)}\n`);
